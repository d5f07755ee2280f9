-- Session table of excluded caregiver SSNs (PostgreSQL excluded_ssn, trimmed in Python), filled by
-- insert_excluded_ssn.sql. A temp table instead of an inlined list: ~7K values, and NOT IN over a
-- subquery never meets a NULL because the loader drops blanks.
CREATE OR REPLACE TEMPORARY TABLE VC_EXCLUDED_SSN (ssn VARCHAR)
