-- Billing beyond its first tariffs: prices with the date they take effect
-- and a name per service, the charges other services' events post, the
-- payments with their receipts, cancelled charges, refunds and their
-- approval, and the counters' day ends. Every table is a projection of
-- events; a charge's identity is the event that posted it (its origin,
-- sequence number and line), so it is posted exactly once on every node.
CREATE TABLE tariff_items (
	code  TEXT PRIMARY KEY,
	name  TEXT NOT NULL,
	stamp TEXT NOT NULL
);
CREATE TABLE tariff_prices (
	code      TEXT NOT NULL,
	category  TEXT NOT NULL,
	effective TEXT NOT NULL, -- YYYY-MM-DD from which the price applies; '' always
	paise     INTEGER NOT NULL,
	stamp     TEXT NOT NULL,
	PRIMARY KEY (code, category, effective)
);
INSERT INTO tariff_prices (code, category, effective, paise, stamp) SELECT item, category, '', paise, stamp FROM tariffs;

CREATE TABLE charges (
	id            TEXT PRIMARY KEY,
	uhid          TEXT NOT NULL,
	code          TEXT NOT NULL, -- the tariff's code: opd.new, lab.CBC
	paise         INTEGER NOT NULL,
	source        TEXT NOT NULL, -- visit | lab
	source_id     TEXT NOT NULL, -- the visit or order number
	posted        TEXT NOT NULL,
	cancelled     TEXT NOT NULL DEFAULT '',
	cancelled_by  TEXT NOT NULL DEFAULT '',
	cancel_reason TEXT NOT NULL DEFAULT '',
	cancel_stamp  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX charges_uhid ON charges (uhid, posted);
CREATE INDEX charges_source ON charges (source, source_id);

CREATE TABLE payments (
	receipt_no TEXT PRIMARY KEY,
	uhid       TEXT NOT NULL,
	paise      INTEGER NOT NULL,
	mode       TEXT NOT NULL,
	reference  TEXT NOT NULL,
	counter    TEXT NOT NULL,
	day        TEXT NOT NULL, -- the hospital's date of the payment
	paid       TEXT NOT NULL,
	cashier    TEXT NOT NULL
);
CREATE INDEX payments_uhid ON payments (uhid, paid);
CREATE INDEX payments_day ON payments (day, counter, cashier);
CREATE TABLE payment_items (
	receipt_no TEXT NOT NULL,
	charge_id  TEXT NOT NULL,
	paise      INTEGER NOT NULL,
	PRIMARY KEY (receipt_no, charge_id)
);
CREATE INDEX payment_items_charge ON payment_items (charge_id);

CREATE TABLE refunds (
	refund_no   TEXT PRIMARY KEY,
	receipt_no  TEXT NOT NULL,
	uhid        TEXT NOT NULL,
	paise       INTEGER NOT NULL,
	mode        TEXT NOT NULL,
	reason      TEXT NOT NULL,
	counter     TEXT NOT NULL,
	day         TEXT NOT NULL,
	requested   TEXT NOT NULL,
	requested_by TEXT NOT NULL,
	needs_approval INTEGER NOT NULL,
	approved    TEXT NOT NULL DEFAULT '',
	approved_by TEXT NOT NULL DEFAULT '',
	approve_stamp TEXT NOT NULL DEFAULT '',
	-- When the money went out: at the request, or at the approval of one
	-- that needed it; '' while it waits. Shifts and day ends count a
	-- refund when it was paid out.
	paid_at     TEXT NOT NULL DEFAULT '',
	paid_day    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX refunds_receipt ON refunds (receipt_no);
CREATE INDEX refunds_uhid ON refunds (uhid, requested);
CREATE INDEX refunds_day ON refunds (paid_day, counter);

-- A cashier's close of a counter's day (a shift handed over), or the
-- counter's own close (handed to the cash office): no payment after it.
CREATE TABLE day_closes (
	counter     TEXT NOT NULL,
	day         TEXT NOT NULL,
	cashier     TEXT NOT NULL,
	origin      TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	closed      TEXT NOT NULL,
	final       INTEGER NOT NULL,
	handover_to TEXT NOT NULL,
	note        TEXT NOT NULL,
	receipts    INTEGER NOT NULL,
	by_mode     TEXT NOT NULL, -- JSON: mode → paise collected
	refunds     INTEGER NOT NULL, -- paise refunded in cash
	expected    INTEGER NOT NULL, -- cash expected in the drawer
	counted     INTEGER NOT NULL, -- cash counted
	cash_count  TEXT NOT NULL, -- JSON: denomination (rupees) → notes and coins
	PRIMARY KEY (counter, day, cashier, origin, seq)
);
