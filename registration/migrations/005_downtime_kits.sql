-- Downtime kits: blocks of UHIDs a node reserves and prints on paper sheets
-- for when even it is down. Its UHIDs 9000001 and up are kept for them,
-- so that the counter's own never reach them.
CREATE TABLE uhid_kits (
	origin TEXT NOT NULL,
	first  INTEGER NOT NULL, -- serials
	last   INTEGER NOT NULL,
	stamp  TEXT NOT NULL,
	actor  TEXT NOT NULL,
	PRIMARY KEY (origin, first)
);
