-- The change log entries this refresh took in (take_staging_changes.sql) are done with.
DELETE FROM change_log_staging WHERE entry IN (SELECT entry FROM _staging_log)
