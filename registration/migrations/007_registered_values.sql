-- The values a record was registered with, as its patient.registered
-- payload: the history shows an amendment as old → new, and a field's
-- first amendment's old value is the registered one. The Go step fills it
-- from the journal.
CREATE TABLE patient_registered (
	uhid TEXT PRIMARY KEY,
	data TEXT NOT NULL
) WITHOUT ROWID;
