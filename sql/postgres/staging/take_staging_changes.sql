-- The change log entries this refresh takes in (migration 0032), as they are now. Changes committed
-- later keep their entries for the next refresh (consume_staging_changes.sql deletes exactly these).
CREATE TEMP TABLE _staging_log ON COMMIT DROP AS
SELECT entry, pair_id, conflict_id FROM change_log_staging
