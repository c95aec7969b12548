-- A view is keyed by its event's time, origin and sequence number, not by
-- its place in this node's journal: a node holds other nodes' events too,
-- and two nodes holding the same events must hold the same rows. The keys
-- begin with the time, so the trail reads newest first from the tables
-- themselves: audit_views for all of it or a user's (a view names its
-- patients, space-separated), audit_patients for a patient's.
CREATE TABLE audit_views_new (
	time     TEXT NOT NULL,
	origin   TEXT NOT NULL,
	seq      INTEGER NOT NULL,
	username TEXT NOT NULL,
	action   TEXT NOT NULL,
	patients TEXT NOT NULL,
	PRIMARY KEY (time, origin, seq)
) WITHOUT ROWID;
CREATE TABLE audit_patients_new (
	patient TEXT NOT NULL,
	time    TEXT NOT NULL,
	origin  TEXT NOT NULL,
	seq     INTEGER NOT NULL,
	PRIMARY KEY (patient, time, origin, seq)
) WITHOUT ROWID;
