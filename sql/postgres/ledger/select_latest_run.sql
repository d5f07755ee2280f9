-- The run opened last (opened_at: the database's clock; a run's started_at may be a fixed "now").
SELECT * FROM pipeline_run ORDER BY opened_at DESC LIMIT 1
