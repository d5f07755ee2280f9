-- C-14 computed_reverse_uuid: the order-independent key of a pair, shared by (A, B) and its mirror
-- (B, A): with a = VisitID~AppVisitID and b = ConVisitID~ConAppVisitID (uuid text is lower case with
-- dashes), LEAST(a, b) || '_' || GREATEST(a, b), compared in byte order (COLLATE "C", section I.17).
-- Only where it is NULL, all four inputs are known and the row is inside the window; existing values are
-- never recomputed. A key longer than the varchar(100) column (very long application ids) would abort
-- the whole unit, so such rows are skipped and counted instead (D23).
-- Returns (rows written, rows skipped because the key is too long).
-- The pair writers compute the same values on the rows they write (visit_conflicts/store/computed.py), so
-- this unit normally finds nothing to change on them: a rule changed here must change there too
-- (tests/integration/test_computed_columns.py compares the two).
WITH candidate AS (
    SELECT k."ID",
           LEAST(k.a, k.b) || '_' || GREATEST(k.a, k.b) AS reverse_uuid
    FROM (
        SELECT c."ID",
               (c."VisitID"::text || '~' || c."AppVisitID"::text) COLLATE "C" AS a,
               (c."ConVisitID"::text || '~' || c."ConAppVisitID"::text) COLLATE "C" AS b
        FROM conflictvisitmaps c
        WHERE c."ReverseUUID" IS NULL
          AND c."VisitID" IS NOT NULL AND c."AppVisitID" IS NOT NULL
          AND c."ConVisitID" IS NOT NULL AND c."ConAppVisitID" IS NOT NULL
          AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
          AND {row_scope}
    ) k
),
written AS (
    UPDATE conflictvisitmaps t
    SET "ReverseUUID" = candidate.reverse_uuid
    FROM candidate
    WHERE t."ID" = candidate."ID"
      AND length(candidate.reverse_uuid) <= 100
    RETURNING 1
)
SELECT (SELECT count(*) FROM written) AS rows_affected,
       (SELECT count(*) FROM candidate WHERE length(reverse_uuid) > 100) AS skipped_reverse_uuid_too_long
