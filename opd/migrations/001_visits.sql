-- Departments with their OPD days, and the visits with their tokens.
CREATE TABLE departments (
	code    TEXT PRIMARY KEY,
	name    TEXT NOT NULL,
	name_hi TEXT NOT NULL,
	room    TEXT NOT NULL,
	days    TEXT NOT NULL,
	unit    TEXT NOT NULL,
	doctor  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE visits (
	id         TEXT PRIMARY KEY,
	uhid       TEXT NOT NULL,
	department TEXT NOT NULL,
	date       TEXT NOT NULL,
	token      INTEGER NOT NULL,
	kind       TEXT NOT NULL,
	fee        INTEGER NOT NULL,
	opened     TEXT NOT NULL,
	opened_by  TEXT NOT NULL,
	seen       TEXT NOT NULL DEFAULT '',
	seen_by    TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX visits_queue ON visits (department, date, token);
CREATE INDEX visits_by_patient ON visits (uhid, department);
