-- Repair: every view row computed again (migration 0034's payer_conflict_rows for all conflicts), after
-- the old rows went (DELETE, not TRUNCATE: the table stays readable until the commit).
INSERT INTO payer_conflicts_common SELECT * FROM payer_conflict_rows(NULL)
