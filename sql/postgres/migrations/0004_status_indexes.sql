-- 0004: indexes of the status step's delta scope (DECISIONS D16).
--
-- The delta scope starts from the rows and conflicts whose state can have changed since the watermark,
-- found through their own timestamp columns (">= cutoff" range scans), plus two small marker sets. 0002
-- already has "UpdatedDate" and "ResolveDate" on conflictvisitmaps; these are the other sources. Every
-- user-owned timestamp is NULL on most rows, so those indexes are partial and stay small; a range
-- condition such as "NoResponseDate" >= cutoff implies the IS NOT NULL predicate, so plain range queries
-- use them. Queries that use the two marker indexes must repeat their predicate literally.

-- Pairs inserted since the cutoff: an insert sets "CreatedDate" but not "UpdatedDate" (D10).
CREATE INDEX idx_cvm_createddate
    ON conflictvisitmaps ("CreatedDate");

-- User changes on pairs: the conflicting agency's no-response, and the review flag.
CREATE INDEX idx_cvm_connoresponsedate
    ON conflictvisitmaps ("ConNoResponseDate")
    WHERE "ConNoResponseDate" IS NOT NULL;

CREATE INDEX idx_cvm_flagforreviewdate
    ON conflictvisitmaps ("FlagForReviewDate")
    WHERE "FlagForReviewDate" IS NOT NULL;

-- Legacy "marked for re-detection" rows (status unit updateflag_orphan_cleanup). Nothing in this system
-- sets UpdateFlag = 1, so the index holds only migrated rows until the status step clears them.
CREATE INDEX idx_cvm_updateflag_set
    ON conflictvisitmaps ("CONFLICTID")
    WHERE "UpdateFlag" = 1;

-- User changes on conflicts: resolution, the primary agency's no-response, and the review flag.
CREATE INDEX idx_cf_resolvedate
    ON conflicts ("ResolveDate")
    WHERE "ResolveDate" IS NOT NULL;

CREATE INDEX idx_cf_noresponsedate
    ON conflicts ("NoResponseDate")
    WHERE "NoResponseDate" IS NOT NULL;

CREATE INDEX idx_cf_flagforreviewdate
    ON conflicts ("FlagForReviewDate")
    WHERE "FlagForReviewDate" IS NOT NULL;

-- Conflicts that the unit aggregation_mark_updatedrflag may still have to mark: UpdatedRFlag is not '1'
-- and the conflict is not one that aggregation_status_u_propagation reopened to 'U' (those keep NULL).
-- Small in steady state: new conflicts until their first status run, and legacy values.
CREATE INDEX idx_cf_updatedrflag_unmarked
    ON conflicts ("CONFLICTID")
    WHERE ("UpdatedRFlag" IS NULL AND "StatusFlag" IS DISTINCT FROM 'U') OR "UpdatedRFlag" <> '1';
