-- The pipeline's id and coordinate reading (visit_conflicts.sql_files APP_ID_PATTERN, DECIMAL_PATTERN):
-- the pattern is tested before TRY_CAST, so both engines read exactly the same texts.
SELECT
    t AS text,
    IFF(REGEXP_LIKE(TRIM(t), '^[0-9]{1,18}$'), TRY_CAST(TRIM(t) AS BIGINT), NULL) AS app_id,
    IFF(REGEXP_LIKE(TRIM(t), '^[+-]?[0-9]+([.][0-9]+)?$'), TRY_CAST(TRIM(t) AS DOUBLE), NULL) AS coordinate
FROM (
    SELECT '0x1F' AS t UNION ALL SELECT '1_000' UNION ALL SELECT ' 12 ' UNION ALL SELECT '+7'
    UNION ALL SELECT '12.0' UNION ALL SELECT '99999999999999999999' UNION ALL SELECT '-73.99'
    UNION ALL SELECT '4_0.7' UNION ALL SELECT '1e1'
) v
ORDER BY t
