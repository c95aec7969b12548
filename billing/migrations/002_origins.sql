-- A tariff holds its newest price (node.Stamp: time, origin, sequence),
-- whatever order prices set at several nodes arrive in. The Go step fills
-- the stamps from the journal.
ALTER TABLE tariffs ADD COLUMN stamp TEXT NOT NULL DEFAULT '';
