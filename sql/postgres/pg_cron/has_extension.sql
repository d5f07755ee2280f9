-- Whether pg_cron is installed in this database (D18: without it, toggling is "skipped").
SELECT 1 FROM pg_extension WHERE extname = 'pg_cron'
