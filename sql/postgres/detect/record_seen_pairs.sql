-- Seen keys of this chunk, kept ledger-side so finalize (stale cleanup, D12) can run elsewhere.
INSERT INTO run_seen_pair (run_id, chunk, "VisitID", "ConVisitID")
SELECT %(run_id)s, %(chunk)s, "VisitID", "ConVisitID" FROM {batch_keys}
