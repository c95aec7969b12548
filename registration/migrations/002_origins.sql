-- Projections are a function of the set of events from every origin, not of
-- the order they arrived in (site nodes interleave them):
--  * a history row is keyed by its event's origin and sequence number, not
--    by the event's place in this node's journal, and read in time order;
--  * an amended field holds the value of its newest change (node.Stamp:
--    time, origin, sequence), kept in patient_changes;
--  * a merged record names the record it was merged into directly, by its
--    newest merge; readers follow the chain. (Records merged into it are no
--    longer re-pointed, which depended on the order of two merges.)
-- The Go step fills patient_changes and merged_stamp from the journal.
CREATE TABLE patient_history_new (
	uhid    TEXT NOT NULL,
	time    TEXT NOT NULL,
	origin  TEXT NOT NULL,
	seq     INTEGER NOT NULL,
	actor   TEXT NOT NULL,
	action  TEXT NOT NULL,
	details TEXT NOT NULL,
	PRIMARY KEY (uhid, time, origin, seq)
) WITHOUT ROWID;
INSERT INTO patient_history_new (uhid, time, origin, seq, actor, action, details)
	SELECT uhid, time, (SELECT code FROM nodes), idx + 1, actor, action, details FROM patient_history;
DROP TABLE patient_history;
ALTER TABLE patient_history_new RENAME TO patient_history;
CREATE TABLE patient_changes (
	uhid  TEXT NOT NULL,
	field TEXT NOT NULL,
	stamp TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (uhid, field, stamp)
) WITHOUT ROWID;
ALTER TABLE patients ADD COLUMN merged_stamp TEXT NOT NULL DEFAULT '';
