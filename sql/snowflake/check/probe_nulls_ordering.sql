-- NULL ordering in the ROW_NUMBER() windows the D8 picks use: DESC NULLS LAST puts NULL last; without
-- NULLS, Snowflake sorts NULL first descending and last ascending (the translation states it).
SELECT
    x,
    ROW_NUMBER() OVER (ORDER BY x DESC NULLS LAST) AS desc_nulls_last,
    ROW_NUMBER() OVER (ORDER BY x DESC) AS desc_default,
    ROW_NUMBER() OVER (ORDER BY x) AS asc_default
FROM (SELECT 1 AS x UNION ALL SELECT NULL UNION ALL SELECT 2) v
ORDER BY desc_nulls_last
