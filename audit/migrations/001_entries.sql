-- The first shape of the trail: a row per patient a view showed.
CREATE TABLE audit_entries (
	idx      INTEGER NOT NULL,
	patient  TEXT NOT NULL,
	time     TEXT NOT NULL,
	username TEXT NOT NULL,
	action   TEXT NOT NULL,
	PRIMARY KEY (idx, patient)
) WITHOUT ROWID;
CREATE INDEX audit_by_patient ON audit_entries (patient, idx);
CREATE INDEX audit_by_user ON audit_entries (username, idx);
