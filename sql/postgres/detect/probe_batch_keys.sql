-- Which keys of the batch are stored already (any kind: the unique index is global), found through the
-- unique index. Marks them for mark_new_pairs.sql and returns (row number, owned by this writer's kind).
UPDATE {batch_keys} k
SET stored = true
FROM conflictvisitmaps t
WHERE t."VisitID" = k."VisitID" AND t."ConVisitID" = k."ConVisitID"
RETURNING k.rn, {owned}
