-- The conflictlog_staging content (legacy staging copy with D1, D17) as a new table: every CVM row of
-- the run's visit window joined to its parent conflict (rows without a parent are left out); the
-- staging columns in their order and types, each from the CVM column of the same name except:
-- "StatusFlag" / "FlagForReview" / "FlagForReviewDate" from the parent when the staging table also
-- has the Con* variant, which takes the pair's own value, and "CreatedDate" = the time of the copy
-- (or, through {kept_join}, the time of the copy of a row the change log says did not change since:
-- kept_created_dates.sql).
-- The select list (with a cast to each staging column's type) is composed in
-- visit_conflicts.store.staging from the table's columns. CREATE TABLE AS rather than INSERT: it
-- loads through PostgreSQL's bulk-insert path.
CREATE {temporary}TABLE {target} ({columns}) {on_commit} AS
SELECT {select_list}
FROM conflictvisitmaps cvm
JOIN conflicts c ON c."CONFLICTID" = cvm."CONFLICTID"
{kept_join}
WHERE cvm."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
