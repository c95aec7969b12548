-- A view is named by its event's time, origin and sequence number, not by
-- its place in this node's journal: a node holds other nodes' events too,
-- and two nodes holding the same events must hold the same rows. A view
-- names its patients (space-separated) for the whole trail or a user's;
-- audit_patients serves a patient's. The rows are appended in the order
-- they come, and the indexes, which a restore builds at its end, read the
-- trail newest first.
CREATE TABLE audit_views_new (
	time     TEXT NOT NULL,
	origin   TEXT NOT NULL,
	seq      INTEGER NOT NULL,
	username TEXT NOT NULL,
	action   TEXT NOT NULL,
	patients TEXT NOT NULL
);
CREATE TABLE audit_patients_new (
	patient TEXT NOT NULL,
	time    TEXT NOT NULL,
	origin  TEXT NOT NULL,
	seq     INTEGER NOT NULL
);
