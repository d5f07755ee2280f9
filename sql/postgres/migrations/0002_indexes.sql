-- 0002: indexes of the conflict tables (legacy/data-model.md section 1.12, DECISIONS D9).
--
-- conflictvisitmaps_pkey and conflicts_pkey come with the tables (0001). Names given by the spec are kept
-- exactly; the others are ours and say what they serve.
--
-- Partial indexes are used by the planner only when the query's WHERE clause implies the index
-- predicate, so queries meant to use one must repeat its predicate literally (noted per index).
--
-- Left out on purpose: the legacy partial indexes on "StatusFlag" (leading column "CONFLICTID", WHERE on
-- StatusFlag). Their exact definition is unknown and the legacy status steps had to force sequential
-- scans to get around them (other-actions.md section D, the "partial-index trap"); idx_cvm_conflictid
-- serves the parent joins instead.

-- D9: pair uniqueness is enforced by the database.
-- One UNIQUE index over ALL rows, under the legacy name, enforces D9 for both pair kinds at once:
--   * regular pairs (all 8 Inservice*/PTO* dates NULL) have real visit uuids on both sides;
--   * InService pairs have one synthetic side, md5('I' || inservice id) (other-actions.md section C),
--     and legacy PTO rows md5('P' || vacation id); neither can equal a real visit uuid,
-- so a regular pair and an InService/PTO pair never share ("VisitID", "ConVisitID") and the global
-- index rejects exactly the duplicates that one partial index per kind would reject. Separate partial
-- unique indexes would duplicate this ~9M-row index on every write for no extra guarantee.
-- Writers can upsert with ON CONFLICT ("VisitID", "ConVisitID") with or without a WHERE predicate for
-- their pair kind: a non-partial unique index satisfies any predicate in ON CONFLICT inference.
-- NULL "ConVisitID" (legacy single-visit rows only) is not constrained (NULLs are distinct).
CREATE UNIQUE INDEX idx_cvm_visitids_unique
    ON conflictvisitmaps ("VisitID", "ConVisitID");

-- Documented as required by the legacy docs. Lookups by "VisitID" are also served by the leading
-- column of idx_cvm_visitids_unique; kept because the spec lists it by name.
CREATE INDEX idx_conflictvisitmaps_visitid
    ON conflictvisitmaps ("VisitID");

-- Stale cleanup scope (D12): regular pairs of a group (VisitDate, SSN). Queries must include
--   "CONFLICTID" IS NOT NULL AND the 8 Inservice*/PTO* columns IS NULL
-- to use it (D10 guarantees CONFLICTID is never NULL, so that term costs nothing).
CREATE INDEX idx_cvm_visitdate_ssn
    ON conflictvisitmaps ("VisitDate", "SSN")
    WHERE "CONFLICTID" IS NOT NULL
      AND "InserviceStartDate" IS NULL AND "InserviceEndDate" IS NULL
      AND "ConInserviceStartDate" IS NULL AND "ConInserviceEndDate" IS NULL
      AND "PTOStartDate" IS NULL AND "PTOEndDate" IS NULL
      AND "ConPTOStartDate" IS NULL AND "ConPTOEndDate" IS NULL;

-- D10 conflict id inheritance: "the CONFLICTID of an existing row with the same VisitID". The INCLUDE
-- lets that lookup be answered from the index alone. Queries must include "CONFLICTID" IS NOT NULL.
CREATE INDEX idx_cvm_visitid_appvisitid_conflictid
    ON conflictvisitmaps ("VisitID", "AppVisitID")
    INCLUDE ("CONFLICTID")
    WHERE "CONFLICTID" IS NOT NULL;

-- Deleted-visit step (ConVisitID leg) and the InService lookup by "ConVisitID".
CREATE INDEX idx_cvm_convisitid
    ON conflictvisitmaps ("ConVisitID");

-- Every parent join (CVM -> conflicts) and the per-conflict cascades of the status steps.
CREATE INDEX idx_cvm_conflictid
    ON conflictvisitmaps ("CONFLICTID");

-- D14 InService stale cleanup: InService pairs of a group. Small (~166K rows). Queries must include
--   ("InserviceStartDate" IS NOT NULL OR "ConInserviceStartDate" IS NOT NULL).
CREATE INDEX idx_cvm_inservice_visitdate_ssn
    ON conflictvisitmaps ("VisitDate", "SSN")
    WHERE "InserviceStartDate" IS NOT NULL OR "ConInserviceStartDate" IS NOT NULL;

-- D16 status scope: rows the pipeline touched since the watermark ("UpdatedDate") and rows resolved
-- since then ("ResolveDate", set by users and by the status steps). A range condition such as
-- "ResolveDate" >= cutoff implies the IS NOT NULL predicate, so plain range queries use it.
CREATE INDEX idx_cvm_updateddate
    ON conflictvisitmaps ("UpdatedDate");

CREATE INDEX idx_cvm_resolvedate
    ON conflictvisitmaps ("ResolveDate")
    WHERE "ResolveDate" IS NOT NULL;

-- The PPR sync matches on (PayerID, ProviderID); unique so the sync cannot create duplicates and can be
-- written as INSERT ... ON CONFLICT ("PayerID", "ProviderID").
CREATE UNIQUE INDEX idx_ppr_payerid_providerid_unique
    ON payer_provider_reminders ("PayerID", "ProviderID");

-- Small reference tables; section 1.12 lists these as optional.
CREATE INDEX idx_excluded_agency_providerid
    ON excluded_agency ("ProviderID");

CREATE INDEX idx_excluded_ssn_trim
    ON excluded_ssn (TRIM("SSN"))
    WHERE "SSN" IS NOT NULL AND TRIM("SSN") <> '';

CREATE INDEX idx_mph_from_to
    ON mph ("From", "To");
