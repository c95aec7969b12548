-- A view is keyed by its event's origin and sequence number, not by its
-- place in this node's journal: a node holds other nodes' events too, and
-- two nodes holding the same events must hold the same rows. The trail is
-- read newest first by time.
CREATE TABLE audit_views_new (
	origin   TEXT NOT NULL,
	seq      INTEGER NOT NULL,
	time     TEXT NOT NULL,
	username TEXT NOT NULL,
	action   TEXT NOT NULL,
	PRIMARY KEY (origin, seq)
) WITHOUT ROWID;
INSERT INTO audit_views_new (origin, seq, time, username, action)
	SELECT (SELECT code FROM nodes), idx + 1, time, username, action FROM audit_views;
CREATE TABLE audit_patients_new (
	origin  TEXT NOT NULL,
	seq     INTEGER NOT NULL,
	patient TEXT NOT NULL,
	PRIMARY KEY (origin, seq, patient)
) WITHOUT ROWID;
INSERT INTO audit_patients_new (origin, seq, patient)
	SELECT (SELECT code FROM nodes), idx + 1, patient FROM audit_patients;
DROP TABLE audit_views;
DROP TABLE audit_patients;
ALTER TABLE audit_views_new RENAME TO audit_views;
ALTER TABLE audit_patients_new RENAME TO audit_patients;
CREATE INDEX audit_views_by_time ON audit_views (time);
CREATE INDEX audit_views_by_user ON audit_views (username, time);
CREATE INDEX audit_patients_by_patient ON audit_patients (patient);
