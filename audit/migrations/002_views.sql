-- A view's time, user and action once, not once for each patient it showed:
-- a duplicate warning names about ten patients, and the old shape wrote three
-- wide entries for each. (Every record.viewed event names at least one
-- patient, as Record emits none for no patients, so each has entries to
-- move.)
CREATE TABLE audit_views (
	idx      INTEGER PRIMARY KEY, -- the record.viewed event
	time     TEXT NOT NULL,
	username TEXT NOT NULL,
	action   TEXT NOT NULL
);
CREATE TABLE audit_patients (
	idx     INTEGER NOT NULL,
	patient TEXT NOT NULL,
	PRIMARY KEY (idx, patient)
) WITHOUT ROWID;
INSERT INTO audit_views (idx, time, username, action)
	SELECT idx, min(time), min(username), min(action) FROM audit_entries GROUP BY idx;
INSERT INTO audit_patients (idx, patient) SELECT idx, patient FROM audit_entries;
DROP TABLE audit_entries;
CREATE INDEX audit_views_by_user ON audit_views (username, idx);
CREATE INDEX audit_patients_by_patient ON audit_patients (patient, idx);
