-- Reconciliation: what nodes cut off from each other (a site working while
-- its central is down) did that a person must look at. Each table is a
-- function of the set of events: whether two events were concurrent comes
-- from the causal markers (node.Concurrent), never from arrival order.
--
-- The key fields of each registration as it was made (amendments do not
-- change them), so that whether two records look alike depends on their
-- two registrations alone.
CREATE TABLE registration_keys (
	uhid     TEXT PRIMARY KEY,
	origin   TEXT NOT NULL,
	seq      INTEGER NOT NULL,
	name_key TEXT NOT NULL,
	mobile   TEXT NOT NULL,
	abha     TEXT NOT NULL,
	dob      TEXT NOT NULL,
	sex      TEXT NOT NULL
);
CREATE INDEX registration_keys_mobile ON registration_keys (mobile, name_key);
CREATE INDEX registration_keys_name ON registration_keys (name_key, dob);
CREATE INDEX registration_keys_abha ON registration_keys (abha);
-- Two records, registered at two nodes that did not know of each other's,
-- that look like one patient (a < b).
CREATE TABLE patient_duplicates (
	a TEXT NOT NULL,
	b TEXT NOT NULL,
	PRIMARY KEY (a, b)
);
-- Two changes of one field of one record made at two nodes that did not
-- know of each other's: the newer (by stamp) is kept, the other is listed.
CREATE TABLE patient_conflicts (
	uhid    TEXT NOT NULL,
	field   TEXT NOT NULL,
	a_stamp TEXT NOT NULL,
	b_stamp TEXT NOT NULL,
	PRIMARY KEY (uhid, field, a_stamp, b_stamp)
);
-- Items a person resolved without a merge or a new change: not the same
-- patient, or the kept value is right.
CREATE TABLE reconciled (
	item   TEXT PRIMARY KEY,
	stamp  TEXT NOT NULL,
	actor  TEXT NOT NULL,
	reason TEXT NOT NULL
);
