-- The pipeline's pg_cron job by name (D18); the first of equal names.
SELECT jobid, active FROM cron.job WHERE jobname = %(job_name)s ORDER BY jobid LIMIT 1
