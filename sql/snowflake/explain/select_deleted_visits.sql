-- `visit-conflicts explain`: which of the given visits (visit_ids, a JSON array of lower-case ids) are
-- in the source's deleted-visit table, with the number of rows and the last update of each (status
-- Phase B turns the pairs of a deleted visit to 'D', D15).
SELECT
    LOWER(d."Visit Id") AS visit_id,
    COUNT(*) AS source_rows,
    MAX(CAST(CONVERT_TIMEZONE(%(time_zone)s, CAST(d."Visit Updated Timestamp" AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ)) AS last_updated
FROM FACTVISITCALLPERFORMANCE_DELETED_CR d
WHERE LOWER(d."Visit Id") IN (SELECT LOWER(f.value::VARCHAR) FROM TABLE(FLATTEN(INPUT => PARSE_JSON(%(visit_ids)s))) f)
GROUP BY 1
ORDER BY 1
