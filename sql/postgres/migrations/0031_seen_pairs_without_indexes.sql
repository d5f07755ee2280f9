-- 0031: the seen set of a run (run_seen_pair) without indexes (issue 13).
--
-- Every pair a detect chunk or the inservice step produces is recorded once per run: at ~100K pairs a
-- night (and ~9M in a full run) the two indexes cost most of the insert (measured: 50K rows 392 ms with
-- both, 81 ms with none). Their readers do not need them: stale cleanup (finalize, inservice) anti-joins
-- the whole seen set of the run by hash, and the deletes of a chunk's keys (a rerun) and of a run's keys
-- (cleanup) read the table once, which holds only the scratch rows of the running run.
DROP INDEX IF EXISTS run_seen_pair_key;
DROP INDEX IF EXISTS run_seen_pair_run;
