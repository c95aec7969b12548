-- Rows that later events change keep the stamp (node.Stamp: time, origin,
-- sequence) of the event that last set them, and an event sets them only
-- if its stamp is newer: a department changed at two nodes, or a visit
-- marked seen at two, reads the same on every node whatever order the
-- events came in. The Go step fills the stamps from the journal.
ALTER TABLE departments ADD COLUMN stamp TEXT NOT NULL DEFAULT '';
ALTER TABLE visits ADD COLUMN seen_stamp TEXT NOT NULL DEFAULT '';
