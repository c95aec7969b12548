-- Visits entered later from a downtime sheet: when the patient was seen on
-- paper, the token written on the sheet, and who entered it when.
CREATE TABLE visit_back_entries (
	id          TEXT PRIMARY KEY,
	seen_at     TEXT NOT NULL,
	paper_token TEXT NOT NULL,
	entered     TEXT NOT NULL,
	entered_by  TEXT NOT NULL
);
