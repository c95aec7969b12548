-- A test holds its newest definition (node.Stamp: time, origin, sequence),
-- whatever order definitions made at several nodes arrive in. The Go step
-- fills the stamps from the journal.
ALTER TABLE lab_tests ADD COLUMN stamp TEXT NOT NULL DEFAULT '';
