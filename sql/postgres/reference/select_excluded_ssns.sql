-- Excluded caregiver SSNs, trimmed here because the visits' SSNs are trimmed (legacy compared a
-- trimmed visit SSN with the untrimmed stored value, so a value stored with spaces excluded nobody).
SELECT DISTINCT TRIM("SSN") AS ssn FROM excluded_ssn WHERE "SSN" IS NOT NULL AND TRIM("SSN") <> '' ORDER BY 1
