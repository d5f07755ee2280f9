-- The run's groups were recorded with their hash bucket (the chunk among HASH_BUCKETS); with the chunk
-- count decided from their number, each gets its chunk: the bucket modulo the count, as
-- chunk_of(ssn, count) computes it (the first four hex digits of the MD5 of the SSN, modulo the count).
UPDATE run_scope_group
SET chunk = chunk %% %(chunks)s
WHERE run_id = %(run_id)s
