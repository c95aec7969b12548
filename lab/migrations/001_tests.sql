-- The test catalogue: what can be ordered, on which specimen.
CREATE TABLE lab_tests (
	code      TEXT PRIMARY KEY,
	name      TEXT NOT NULL,
	specimen  TEXT NOT NULL,
	container TEXT NOT NULL,
	unit      TEXT NOT NULL,
	ref_range TEXT NOT NULL
) WITHOUT ROWID;
