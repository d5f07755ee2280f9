-- D12 stale cleanup, second part: the candidates (stale_candidates.sql) that the run did not produce.
-- The candidate table is analysed first, so the planner sees ~1M rows on both sides and anti-joins by
-- hash instead of probing the seen set once per row. The result is a temp table of its own, analysed in
-- turn: planned from the anti-join's estimate (often 100x the real count), the update would scan the
-- whole conflictvisitmaps instead of looking up the few stale pairs by key.
CREATE TEMP TABLE _stale_pairs ON COMMIT DROP AS
SELECT k."VisitID", k."ConVisitID"
FROM _stale_candidates k
WHERE NOT EXISTS (
    SELECT 1 FROM run_seen_pair p
    WHERE p.run_id = %(run_id)s AND p."VisitID" = k."VisitID" AND p."ConVisitID" = k."ConVisitID"
)
