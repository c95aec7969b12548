-- A second visit to a department the same day is given a new token only
-- on purpose, with a reason (visit.repeated).
CREATE TABLE visit_repeats (
	visit_id TEXT PRIMARY KEY,
	earlier  TEXT NOT NULL,
	reason   TEXT NOT NULL,
	by_user  TEXT NOT NULL
);
