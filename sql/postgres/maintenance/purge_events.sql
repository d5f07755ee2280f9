-- Retention of the conflict history (migration 0035): events older than `event_retention_days` before
-- the run's clock are deleted (the BRIN index on "at" finds them). Returns the number deleted.
WITH purged AS (
    DELETE FROM conflict_event
    WHERE at < %(now)s - make_interval(days => %(days)s)
    RETURNING 1
)
SELECT count(*) FROM purged
