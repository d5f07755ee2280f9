-- Restore never waits on a long operation: a statement that cannot get its lock within seconds (a
-- long transaction holding the settings row, say) fails fast, and the step is retried or handed to the
-- abnormal-end cleanup, instead of hanging the Lambda to its timeout.
SET lock_timeout = '10s';
SET statement_timeout = '60s'
