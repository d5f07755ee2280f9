-- D10: insert the new pairs with StatusFlag 'N', the writer kind's InServiceFlag ('N' regular, 'Y'
-- InService, D14), PTOFlag 'N', their CONFLICTID (never NULL) and CRDATEUNIQUE = the earliest
-- CreatedDate of the conflict's rows.
INSERT INTO conflictvisitmaps ({columns}, "CONFLICTID", "StatusFlag", "InServiceFlag", "PTOFlag",
                               "CreatedDate", "CRDATEUNIQUE")
SELECT {n_columns},
       k.conflict_id,
       'N', {in_service_flag}, 'N',
       %(now)s,
       COALESCE(LEAST(k.first_created, %(now)s), %(now)s)
FROM {incoming} n
JOIN {new_pairs} k ON k."VisitID" = n."VisitID" AND k."ConVisitID" = n."ConVisitID"
