-- Visits post their fees as charges on the patient's account (billing's
-- charges table); the Go step posts those of the visits opened before.
SELECT 1;
