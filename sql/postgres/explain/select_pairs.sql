-- `visit-conflicts explain`: the stored conflictvisitmaps rows that have one of the given visits on
-- either side (visit_ids: uuid text), regular and InService pairs, with their rule flags and metrics,
-- status and resolution. Found through the indexes on "VisitID" and "ConVisitID" (0002_indexes.sql).
SELECT
    "ID", "CONFLICTID", "VisitID"::text AS "VisitID", "ConVisitID"::text AS "ConVisitID", "SSN", "VisitDate",
    "ProviderName", "ConProviderName", "StatusFlag", "InServiceFlag",
    "SameSchTimeFlag", "SameVisitTimeFlag", "SchAndVisitTimeSameFlag", "SchOverAnotherSchTimeFlag",
    "VisitTimeOverAnotherVisitTimeFlag", "SchTimeOverVisitTimeFlag", "DistanceFlag",
    "MinuteDiffBetweenSch", "DistanceMilesFromLatLng", "AverageMilesPerHour", "ETATravelMinutes",
    "CreatedDate", "UpdatedDate", "ResolveDate", "ResolvedBy", "UpdateFlag",
    "InserviceStartDate", "InserviceEndDate", "ConInserviceStartDate", "ConInserviceEndDate"
FROM conflictvisitmaps
WHERE "VisitID" = ANY(%(visit_ids)s::uuid[]) OR "ConVisitID" = ANY(%(visit_ids)s::uuid[])
ORDER BY "VisitID", "ConVisitID", "ID"
