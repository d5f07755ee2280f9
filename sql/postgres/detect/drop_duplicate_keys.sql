-- D8 guard inside one batch: keep one row per (VisitID, ConVisitID).
DELETE FROM _incoming_pairs a
USING _incoming_pairs b
WHERE a."VisitID" = b."VisitID" AND a."ConVisitID" = b."ConVisitID" AND a.ctid > b.ctid
