-- B-1 deleted_visits_cvm (D15): a pair one of whose visits was deleted in the source becomes 'D' (W and I
-- included: a deleted visit ends the conflict). Rows inside the window, not already 'D', whose "VisitID"
-- or "ConVisitID" is a deleted id of this run (_tmp_deleted_visits, loaded from Snowflake on the watermark
-- cutoff). Two equi-join legs, one per column, so each uses its own index (an OR-join falls into a
-- nested loop); the update goes by "ID".
-- "ResolvedBy" names the agency of the deleted visit: the Con side when "ConVisitID" was deleted (as
-- legacy), the primary side when only "VisitID" was (legacy took the Con side even then, section I.11).
WITH hit AS (
    SELECT c."ID", TRUE AS con_deleted
    FROM _tmp_deleted_visits d
    JOIN conflictvisitmaps c ON c."ConVisitID" = d."VisitID"
    WHERE c."StatusFlag" <> 'D'
      AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
    UNION ALL
    SELECT c."ID", FALSE AS con_deleted
    FROM _tmp_deleted_visits d
    JOIN conflictvisitmaps c ON c."VisitID" = d."VisitID"
    WHERE c."StatusFlag" <> 'D'
      AND c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
),
target AS (
    SELECT "ID", bool_or(con_deleted) AS con_deleted
    FROM hit
    GROUP BY "ID"
)
UPDATE conflictvisitmaps t
SET "UpdateFlag" = NULL,
    "StatusFlag" = 'D',
    "ResolveDate" = COALESCE(t."ResolveDate", %(now)s),
    "ResolvedBy" = CASE
        WHEN target.con_deleted THEN COALESCE(t."ConAgencyContact", t."ConProviderName")
        ELSE COALESCE(t."AgencyContact", t."ProviderName")
    END
FROM target
WHERE t."ID" = target."ID"
