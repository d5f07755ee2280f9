-- Phase B: the usable deleted visit ids of the source, loaded into the session table.
COPY _tmp_deleted_visits ("VisitID") FROM STDIN
