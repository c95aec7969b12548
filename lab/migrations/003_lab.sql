-- The lab beyond its catalogue: analytes with their ranges, tests with
-- their analytes, orders, samples with their accession numbers, results,
-- released reports, critical-value calls and analyser messages. Every
-- table is a projection of lab events; columns set by several events
-- keep the earliest (receipt, rejection) or the newest (a result, a
-- release) by node.Stamp, so that the rows do not depend on the order
-- events of several nodes arrive in.
ALTER TABLE lab_tests ADD COLUMN section TEXT NOT NULL DEFAULT '';
ALTER TABLE lab_tests ADD COLUMN tat_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lab_tests ADD COLUMN analytes TEXT NOT NULL DEFAULT '';

CREATE TABLE lab_analytes (
	code          TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	unit          TEXT NOT NULL,
	loinc         TEXT NOT NULL,
	kind          TEXT NOT NULL,
	decimals      INTEGER NOT NULL,
	ranges        TEXT NOT NULL, -- JSON array of lab.Range
	critical_low  TEXT NOT NULL,
	critical_high TEXT NOT NULL,
	delta_percent INTEGER NOT NULL,
	normal        TEXT NOT NULL,
	stamp         TEXT NOT NULL
);
CREATE INDEX lab_analytes_loinc ON lab_analytes (loinc);

CREATE TABLE lab_orders (
	id            TEXT PRIMARY KEY,
	uhid          TEXT NOT NULL,
	visit_id      TEXT NOT NULL,
	priority      TEXT NOT NULL,
	source        TEXT NOT NULL, -- doctor | outside
	prescriber    TEXT NOT NULL,
	notes         TEXT NOT NULL,
	ordered       TEXT NOT NULL,
	ordered_by    TEXT NOT NULL,
	cancelled     TEXT NOT NULL DEFAULT '',
	cancelled_by  TEXT NOT NULL DEFAULT '',
	cancel_reason TEXT NOT NULL DEFAULT '',
	cancel_stamp  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX lab_orders_uhid ON lab_orders (uhid, ordered);

CREATE TABLE lab_order_tests (
	order_id TEXT NOT NULL,
	position INTEGER NOT NULL,
	test     TEXT NOT NULL,
	PRIMARY KEY (order_id, test)
);

CREATE TABLE lab_samples (
	accession      TEXT PRIMARY KEY,
	order_id       TEXT NOT NULL,
	uhid           TEXT NOT NULL,
	container      TEXT NOT NULL,
	specimen       TEXT NOT NULL,
	priority       TEXT NOT NULL,
	sex            TEXT NOT NULL,
	age_days       INTEGER NOT NULL,
	age            TEXT NOT NULL,
	collected      TEXT NOT NULL,
	collected_by   TEXT NOT NULL,
	received       TEXT NOT NULL DEFAULT '',
	received_by    TEXT NOT NULL DEFAULT '',
	received_stamp TEXT NOT NULL DEFAULT '',
	rejected       TEXT NOT NULL DEFAULT '',
	rejected_by    TEXT NOT NULL DEFAULT '',
	reject_reason  TEXT NOT NULL DEFAULT '',
	reject_note    TEXT NOT NULL DEFAULT '',
	rejected_stamp TEXT NOT NULL DEFAULT '',
	result_stamp   TEXT NOT NULL DEFAULT '',
	release_stamp  TEXT NOT NULL DEFAULT '',
	version        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX lab_samples_uhid ON lab_samples (uhid, collected);
CREATE INDEX lab_samples_order ON lab_samples (order_id);

CREATE TABLE lab_sample_tests (
	accession TEXT NOT NULL,
	position  INTEGER NOT NULL,
	test      TEXT NOT NULL,
	PRIMARY KEY (accession, test)
);

-- A sample's place on each section's worklist: pending while received and
-- not rejected, cancelled or released (with no result newer than the
-- release).
CREATE TABLE lab_worklist (
	accession TEXT NOT NULL,
	section   TEXT NOT NULL,
	rank      INTEGER NOT NULL, -- 0 urgent, 1 routine: the order it is run in
	received  TEXT NOT NULL,
	pending   INTEGER NOT NULL,
	PRIMARY KEY (accession, section)
);
CREATE INDEX lab_worklist_pending ON lab_worklist (section, pending, rank, received, accession);
-- How many samples each section has pending: the sum of lab_worklist's
-- pending, kept as each row changes, so a worklist does not count 100,000
-- rows to say how long it is.
CREATE TABLE lab_worklist_counts (
	section TEXT PRIMARY KEY,
	pending INTEGER NOT NULL
);

CREATE TABLE lab_results (
	accession  TEXT NOT NULL,
	analyte    TEXT NOT NULL,
	test       TEXT NOT NULL,
	value      TEXT NOT NULL,
	unit       TEXT NOT NULL,
	range_text TEXT NOT NULL,
	flag       TEXT NOT NULL,
	entered    TEXT NOT NULL,
	entered_by TEXT NOT NULL,
	source     TEXT NOT NULL,
	reason     TEXT NOT NULL,
	stamp      TEXT NOT NULL,
	called_to  TEXT NOT NULL DEFAULT '',
	called_at  TEXT NOT NULL DEFAULT '',
	called_by  TEXT NOT NULL DEFAULT '',
	call_notes TEXT NOT NULL DEFAULT '',
	call_stamp TEXT NOT NULL DEFAULT '',
	-- The value the newest release (by version, then stamp) reported: a
	-- result is verified while its value is the released one, whatever
	-- order a site's late result and the central's release arrive in.
	released_value TEXT NOT NULL DEFAULT '',
	released_key   TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (accession, analyte)
);
CREATE INDEX lab_results_flag ON lab_results (flag);

CREATE TABLE lab_reports (
	accession   TEXT NOT NULL,
	origin      TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	released    TEXT NOT NULL,
	released_by TEXT NOT NULL,
	reason      TEXT NOT NULL,
	leaf        TEXT NOT NULL, -- the release event's leaf hash, hex
	PRIMARY KEY (accession, origin, seq)
);
CREATE INDEX lab_reports_leaf ON lab_reports (leaf);

-- Analyser messages stored, so that a message sent twice is stored once.
CREATE TABLE lab_hl7_messages (
	sender     TEXT NOT NULL,
	control_id TEXT NOT NULL,
	accession  TEXT NOT NULL,
	PRIMARY KEY (sender, control_id)
);
