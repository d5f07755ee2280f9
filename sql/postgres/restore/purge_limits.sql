-- The scratch purge runs after the run is closed (the lock is already free), with room for a scope of
-- ~13M groups; a purge that still does not finish is reported, and the rows are purged again by the
-- next restore of the same run or removed with the next run's cleanup.
SET statement_timeout = '180s'
