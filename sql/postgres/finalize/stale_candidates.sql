-- D12 stale cleanup, first part: the open regular pairs ('N' or 'U'; never 'W', 'I', 'D', 'R') of the
-- groups (VisitDate, SSN) in the run's scope, as a temp table of their keys.
-- idx_cvm_visitdate_ssn's INCLUDE columns answer the query without reading the table (index-only
-- scan); the WHERE clause repeats the index predicate so the planner can use it. A semi-join (EXISTS)
-- needs no DISTINCT over the scope: with ~1M groups, de-duplicating them first cost more than the join.
CREATE TEMP TABLE _stale_candidates ON COMMIT DROP AS
SELECT c."VisitID", c."ConVisitID"
FROM conflictvisitmaps c
WHERE c."CONFLICTID" IS NOT NULL
  AND {regular}
  AND c."StatusFlag" IN ('N', 'U')
  AND EXISTS (
      SELECT 1 FROM run_scope_group s
      WHERE s.run_id = %(run_id)s AND s."VisitDate" = c."VisitDate" AND s."SSN" = c."SSN"
  )
