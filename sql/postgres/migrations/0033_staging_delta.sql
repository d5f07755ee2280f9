-- 0033: indexes for applying the run's changes to conflictlog_staging (issue 13, D17 amended) instead of
-- rebuilding it: the staging rows of changed pairs are found by "ID", those that left the visit window by
-- "VisitDate"; the conflictvisitmaps rows entering the window are found by "VisitDate" through three
-- partial indexes that together cover every row staging can copy (it copies rows with a CONFLICTID):
-- idx_cvm_visitdate_ssn (regular pairs), idx_cvm_inservice_visitdate_ssn (InService pairs) and the one
-- below for the rest (PTO rows, half-dated legacy rows), which holds almost nothing.
--
-- Both staging indexes are plain indexes: the rebuild (staging_mode = "rebuild") recreates them on the
-- new table, and they do not stop its rename swap (a unique constraint would).
CREATE UNIQUE INDEX IF NOT EXISTS idx_conflictlog_staging_id ON conflictlog_staging ("ID");
CREATE INDEX IF NOT EXISTS idx_conflictlog_staging_visitdate ON conflictlog_staging ("VisitDate");

CREATE INDEX IF NOT EXISTS idx_cvm_visitdate_other
    ON conflictvisitmaps ("VisitDate")
    WHERE "CONFLICTID" IS NOT NULL
      AND "InserviceStartDate" IS NULL AND "ConInserviceStartDate" IS NULL
      AND NOT ("InserviceEndDate" IS NULL AND "ConInserviceEndDate" IS NULL
               AND "PTOStartDate" IS NULL AND "PTOEndDate" IS NULL
               AND "ConPTOStartDate" IS NULL AND "ConPTOEndDate" IS NULL);
