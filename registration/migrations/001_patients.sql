-- The patients, the words of their names for search, and what happened to
-- each record after its registration.
CREATE TABLE patients (
	uhid              TEXT PRIMARY KEY,
	name              TEXT NOT NULL,
	name_hi           TEXT NOT NULL,
	sex               TEXT NOT NULL,
	dob               TEXT NOT NULL,
	dob_actual        INTEGER NOT NULL,
	mobile            TEXT NOT NULL,
	address           TEXT NOT NULL,
	city              TEXT NOT NULL,
	district          TEXT NOT NULL,
	state             TEXT NOT NULL,
	pin               TEXT NOT NULL,
	guardian_relation TEXT NOT NULL,
	guardian_name     TEXT NOT NULL,
	category          TEXT NOT NULL,
	category_id       TEXT NOT NULL,
	abha              TEXT NOT NULL,
	name_key          TEXT NOT NULL,
	registered        TEXT NOT NULL,
	registered_by     TEXT NOT NULL,
	merged_into       TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX patients_by_mobile ON patients (mobile);
CREATE INDEX patients_by_key ON patients (name_key, dob);
CREATE INDEX patients_by_abha ON patients (abha) WHERE abha != '';
-- Every word of every name, for search by part of the name.
CREATE TABLE patient_words (
	word TEXT NOT NULL,
	uhid TEXT NOT NULL,
	PRIMARY KEY (word, uhid)
) WITHOUT ROWID;
-- What happened to a record: registered, amended, merged.
CREATE TABLE patient_history (
	uhid    TEXT NOT NULL,
	idx     INTEGER NOT NULL,
	time    TEXT NOT NULL,
	actor   TEXT NOT NULL,
	action  TEXT NOT NULL,
	details TEXT NOT NULL,
	PRIMARY KEY (uhid, idx)
) WITHOUT ROWID;
