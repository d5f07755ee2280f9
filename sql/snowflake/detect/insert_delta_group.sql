-- Appends one batch of the chunk's groups; the bound parameter "values" is a JSON array of [visit date,
-- SSN] texts, "chunk" the chunk they belong to.
INSERT INTO VC_DELTA_GROUP (visit_date, ssn, chunk)
SELECT CAST(f.value[0]::VARCHAR AS DATE), f.value[1]::VARCHAR, %(chunk)s
FROM TABLE(FLATTEN(INPUT => PARSE_JSON(%(values)s))) f
