-- D12 stale cleanup, first part: the open regular pairs ('N' or 'U'; never 'W', 'I', 'D', 'R') of the
-- groups (VisitDate, SSN) in the run's scope, as a temp table of their keys.
-- The scope keys are reduced to the groups that exist through idx_cvm_visitdate_ssn, whose INCLUDE
-- columns answer the rest without reading the table (index-only scan); the WHERE clause repeats the
-- index predicate so the planner can use it.
CREATE TEMP TABLE _stale_candidates ON COMMIT DROP AS
SELECT c."VisitID", c."ConVisitID"
FROM (SELECT DISTINCT "VisitDate", "SSN" FROM run_scope_group WHERE run_id = %(run_id)s) s
JOIN conflictvisitmaps c ON c."VisitDate" = s."VisitDate" AND c."SSN" = s."SSN"
WHERE c."CONFLICTID" IS NOT NULL
  AND {regular}
  AND c."StatusFlag" IN ('N', 'U')
