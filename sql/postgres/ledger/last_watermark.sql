-- D2: the start of the last successful full run (NULL before the first one). A dry run never counts: it
-- wrote nothing.
SELECT max(started_at) FROM pipeline_run WHERE status = 'succeeded' AND full_run AND NOT dry_run
