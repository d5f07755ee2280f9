-- Appends one batch of excluded provider ids; the bound parameter "values" is a JSON array of strings.
INSERT INTO VC_EXCLUDED_PROVIDER (provider_id)
SELECT f.value::VARCHAR
FROM TABLE(FLATTEN(INPUT => PARSE_JSON(%(values)s))) f
