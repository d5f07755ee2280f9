-- Delta scope, step 1 (D16): the pairs whose state can have changed since the watermark, each found
-- through an index: written by the pipeline since the cutoff (updated or inserted), resolved since the
-- cutoff (stale cleanup, users, earlier status runs), changed by users since the cutoff (conflicting
-- agency's no-response, review flag), still carrying the legacy UpdateFlag marker, or touching a visit
-- deleted in the source (Phase B's rows, whether this attempt or an earlier one marked them 'D').
INSERT INTO _status_scope_seed ("ID", "CONFLICTID")
SELECT DISTINCT s."ID", s."CONFLICTID"
FROM (
    SELECT c."ID", c."CONFLICTID" FROM conflictvisitmaps c WHERE c."UpdatedDate" >= %(cutoff)s
    UNION ALL
    SELECT c."ID", c."CONFLICTID" FROM conflictvisitmaps c WHERE c."CreatedDate" >= %(cutoff)s
    UNION ALL
    SELECT c."ID", c."CONFLICTID" FROM conflictvisitmaps c WHERE c."ResolveDate" >= %(cutoff)s
    UNION ALL
    SELECT c."ID", c."CONFLICTID" FROM conflictvisitmaps c WHERE c."ConNoResponseDate" >= %(cutoff)s
    UNION ALL
    SELECT c."ID", c."CONFLICTID" FROM conflictvisitmaps c WHERE c."FlagForReviewDate" >= %(cutoff)s
    UNION ALL
    SELECT c."ID", c."CONFLICTID" FROM conflictvisitmaps c WHERE c."UpdateFlag" = 1
    UNION ALL
    SELECT c."ID", c."CONFLICTID"
    FROM _tmp_deleted_visits d JOIN conflictvisitmaps c ON c."VisitID" = d."VisitID"
    UNION ALL
    SELECT c."ID", c."CONFLICTID"
    FROM _tmp_deleted_visits d JOIN conflictvisitmaps c ON c."ConVisitID" = d."VisitID"
) s
