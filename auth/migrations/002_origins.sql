-- A user's row holds the newest of each thing events set (node.Stamp: time,
-- origin, sequence): who they are (user.added), their password and whether
-- they are disabled, whatever order events from several nodes arrive in. A
-- session ends at its first end. The Go step fills the stamps from the
-- journal.
ALTER TABLE users ADD COLUMN stamp TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN password_stamp TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN disabled_stamp TEXT NOT NULL DEFAULT '';
