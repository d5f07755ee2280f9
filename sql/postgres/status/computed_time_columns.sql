-- C-12 computed_time_columns: the effective start/end of each side of a pair inside the window: the
-- actual visit time, else the scheduled time, else the InService time. Only rows where one of the four
-- stored values differs are written.
-- The pair writers compute the same values on the rows they write (visit_conflicts/store/computed.py), so
-- this unit normally finds nothing to change on them: a rule changed here must change there too
-- (tests/integration/test_computed_columns.py compares the two).
UPDATE conflictvisitmaps c
SET "ShVTSTTime" = COALESCE(c."VisitStartTime", c."SchStartTime", c."InserviceStartDate"),
    "ShVTENTime" = COALESCE(c."VisitEndTime", c."SchEndTime", c."InserviceEndDate"),
    "CShVTSTTime" = COALESCE(c."ConVisitStartTime", c."ConSchStartTime", c."ConInserviceStartDate"),
    "CShVTENTime" = COALESCE(c."ConVisitEndTime", c."ConSchEndTime", c."ConInserviceEndDate")
WHERE c."VisitDate" BETWEEN %(window_start)s AND %(window_end)s
  AND {row_scope}
  AND (c."ShVTSTTime" IS DISTINCT FROM COALESCE(c."VisitStartTime", c."SchStartTime", c."InserviceStartDate")
       OR c."ShVTENTime" IS DISTINCT FROM COALESCE(c."VisitEndTime", c."SchEndTime", c."InserviceEndDate")
       OR c."CShVTSTTime" IS DISTINCT FROM COALESCE(c."ConVisitStartTime", c."ConSchStartTime", c."ConInserviceStartDate")
       OR c."CShVTENTime" IS DISTINCT FROM COALESCE(c."ConVisitEndTime", c."ConSchEndTime", c."ConInserviceEndDate"))
