-- Taken only to empty the table at once; never waited for: a session reading or writing the table
-- (another run's step, say) keeps it, and the run's rows are deleted instead.
LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE NOWAIT
