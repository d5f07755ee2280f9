-- The scoped SSNs, streamed to PostgreSQL for the InService stale cleanup (D12 with D14).
SELECT ssn FROM VC_INSERVICE_SCOPE_SSN
