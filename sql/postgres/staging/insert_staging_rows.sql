-- D17 amended: the current staging rows (create_staging_rows.sql's content) of the pairs whose copy is
-- redone, when they still belong: inside the window, with a parent conflict. "CreatedDate" is the time
-- of this copy. The select list is composed in visit_conflicts.store.staging, as for the rebuild.
INSERT INTO conflictlog_staging ({columns})
SELECT {select_list}
FROM conflictvisitmaps cvm
JOIN conflicts c ON c."CONFLICTID" = cvm."CONFLICTID"
WHERE cvm."ID" IN (SELECT "ID" FROM _staging_pairs)
  AND cvm."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
