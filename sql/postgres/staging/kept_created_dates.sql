-- Rebuild with a change log to trust: the staging rows the log says did not change (neither the pair
-- nor its conflict) keep their "CreatedDate" (the time their content was copied), as applying the
-- changes would have kept it, so both modes give the same table (D17 amended).
CREATE TEMP TABLE _staging_kept ON COMMIT DROP AS
SELECT s."ID", s."CreatedDate"
FROM conflictlog_staging s
WHERE NOT EXISTS (SELECT 1 FROM _staging_log l WHERE l.pair_id = s."ID")
  AND NOT EXISTS (SELECT 1 FROM _staging_log l WHERE l.conflict_id = s."CONFLICTID")
