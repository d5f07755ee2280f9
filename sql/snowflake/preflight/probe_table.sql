-- A source table is readable by the pipeline's role: one row at most, nothing else read.
SELECT 1 FROM {table} LIMIT 1
