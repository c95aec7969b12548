-- The records merged into a patient, for the reads that follow a merge
-- back (registration.Family: an account, the lab's reports).
CREATE INDEX patients_merged_into ON patients (merged_into);
