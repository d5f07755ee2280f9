-- Conflict history (migration 0035) of the pairs the batch just inserted by COPY, in the same
-- transaction: one 'insert' event per new pair (old status NULL), its key taken from the batch's new
-- keys and its "ID" / "CONFLICTID" / status from the stored row (through the unique index). detail names
-- the rule flags that hold on insert ({detail}: the writer's flag columns, or 'InService').
INSERT INTO conflict_event (run_id, step, "ID", "CONFLICTID", "VisitID", "ConVisitID", old_status,
    new_status, reason, detail, at)
SELECT %(run_id)s, %(step)s, t."ID", t."CONFLICTID", t."VisitID", t."ConVisitID", NULL, t."StatusFlag",
    'insert', {detail}, %(now)s
FROM {new_pairs} k
JOIN conflictvisitmaps t ON t."VisitID" = k."VisitID" AND t."ConVisitID" = k."ConVisitID"
