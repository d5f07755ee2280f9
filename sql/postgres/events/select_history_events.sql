-- Run history: the events per reason of the given runs (conflict_event, migration 0035). A dry run has
-- none here (its events were rolled back); its counts come from pipeline_run.would_change.
SELECT run_id, reason, count(*) AS events
FROM conflict_event
WHERE run_id = ANY(%(run_ids)s)
GROUP BY run_id, reason
ORDER BY run_id, reason
