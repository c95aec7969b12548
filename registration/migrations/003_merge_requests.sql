-- A merge needs two people (or a medical records officer): the first
-- clerk's request waits here until another confirms it. A request is a row
-- of its own event; a merge of the same two records settles every request
-- for them. An unmerge is recorded in history and by the record's newest
-- merge stamp, like a merge.
CREATE TABLE merge_requests (
	from_uhid    TEXT NOT NULL,
	into_uhid    TEXT NOT NULL,
	origin       TEXT NOT NULL,
	seq          INTEGER NOT NULL,
	time         TEXT NOT NULL,
	requested_by TEXT NOT NULL,
	reason       TEXT NOT NULL,
	settled      TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (from_uhid, into_uhid, origin, seq)
) WITHOUT ROWID;
