-- The conflicts whose view rows are computed again: those in the entries taken in, and every conflict
-- with a pair in a GroupID of those entries (GROUP_SIZE counts a group's conflicts). The same set as the
-- view payer_view_pending_conflicts, over the entries taken in.
CREATE TEMP TABLE _payer_view_conflicts ON COMMIT DROP AS
SELECT conflict_id FROM _payer_view_log WHERE conflict_id IS NOT NULL
UNION
SELECT c."CONFLICTID"
FROM conflictvisitmaps c
WHERE c."GroupID" IN (SELECT group_id FROM _payer_view_log WHERE group_id IS NOT NULL)
  AND c."CONFLICTID" IS NOT NULL
