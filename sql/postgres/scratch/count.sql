-- Under the exclusive lock: this run's rows and everyone else's, in one pass over the table.
SELECT count(*) FILTER (WHERE run_id = %(run_id)s),
       count(*) FILTER (WHERE run_id <> %(run_id)s)
FROM {table}
