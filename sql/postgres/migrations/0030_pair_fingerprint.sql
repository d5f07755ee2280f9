-- 0030: the pair fingerprint (issue 13): "certainly unchanged" pairs are recognised by their key probe
-- alone and never travel in full.
--
-- "PairFingerprint" is a 64-bit hash of the written columns of the pair as the pair writer last
-- RECEIVED it (visit_conflicts/store/fingerprint.py), computed on the client. The writer probes keys and
-- fingerprints together: a stored pair of its kind with the same fingerprint and a status other than
-- 'R' is unchanged and skipped; any other stored pair takes the full compare in SQL (D11), which stays
-- the authority and records the incoming fingerprint, whether or not it writes the row's columns.
--
-- It is the incoming row's fingerprint, not the stored values': D11 keeps rule flags at 'Y' and
-- AgencyContact when the source sends NULL, so a stored row can differ from the row that produced it
-- while the compare says "unchanged"; the identical re-send must still match.
--
-- Validity: only the pair writer writes the columns it fingerprints (status management writes none of
-- them; tests/unit/test_fingerprint.py checks it). A process that changes a written column outside the
-- writer must set "PairFingerprint" to NULL for that row, or the next identical re-send keeps its value.
--
-- Rows stored before this migration have NULL: the first run that re-detects them compares them in full
-- once and records their fingerprint. Nullable and without a default, so adding it rewrites nothing.
ALTER TABLE conflictvisitmaps ADD COLUMN IF NOT EXISTS "PairFingerprint" int8;

COMMENT ON COLUMN conflictvisitmaps."PairFingerprint" IS
    'Pipeline-owned: hash of the written columns as last received from the source (issue 13); NULL = unknown, compare in full';

-- The probe reads, for each key of a batch, the stored fingerprint, status and conflict id and the
-- InService/PTO dates that tell the pair's kind: as INCLUDE columns of the unique index (same name,
-- same key columns, still the D9 guarantee), it is an index-only scan instead of one random read of a
-- ~1.8 KB row per key. The dates are NULL on regular pairs and cost only their bits in the NULL bitmap.
DROP INDEX IF EXISTS idx_cvm_visitids_unique;
CREATE UNIQUE INDEX idx_cvm_visitids_unique
    ON conflictvisitmaps ("VisitID", "ConVisitID")
    INCLUDE ("PairFingerprint", "StatusFlag", "CONFLICTID",
             "InserviceStartDate", "InserviceEndDate", "ConInserviceStartDate", "ConInserviceEndDate",
             "PTOStartDate", "PTOEndDate", "ConPTOStartDate", "ConPTOEndDate");
