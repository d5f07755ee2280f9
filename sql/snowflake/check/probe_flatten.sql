-- FLATTEN over PARSE_JSON of a bound JSON array, as the exclusion lists are loaded
-- (common/insert_excluded_ssn.sql): one row per element, in order, strings without quotes.
SELECT f.index AS position, f.value::VARCHAR AS element
FROM TABLE(FLATTEN(INPUT => PARSE_JSON('["b", "a", "", "O''Brien"]'))) f
ORDER BY f.index
