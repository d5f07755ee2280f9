-- Appends one batch of excluded SSNs; the bound parameter "values" is a JSON array of strings.
INSERT INTO VC_EXCLUDED_SSN (ssn)
SELECT f.value::VARCHAR
FROM TABLE(FLATTEN(INPUT => PARSE_JSON(%(values)s))) f
