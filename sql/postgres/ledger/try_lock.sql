-- A session-level advisory lock: held by a local run's owner process for the whole run (it dies with the
-- process's session), and briefly by preflight to serialise opening runs.
SELECT pg_try_advisory_lock(%(key)s)
