-- 0032: the change log of the conflict tables (issue 13): which pairs and conflicts changed since the
-- staging copy (conflictlog_staging, D17) and the payer view (mv_payer_conflicts_common) last took them
-- in, so both are maintained for the changes only instead of rebuilt from 9M rows every run.
--
-- Why triggers: the changes come from every step of the pipeline (detect, finalize, inservice, the 15
-- status units) and from users between runs (W/I statuses, review flags, no-response answers), and not
-- all of them stamp a timestamp. Statement-level triggers with transition tables record the keys of every
-- inserted, updated or deleted row, whoever wrote it, in one INSERT per statement (no per-row call).
-- Each reader has its own log, since they read at different moments of a run (staging before detect,
-- the payer view after status); a reader deletes exactly the entries it took in, so a change committed
-- meanwhile is taken in next time. An UPDATE that changed nothing a reader copies (the fingerprint of
-- migration 0030, for instance) is logged too: its row is copied again, identical.
--
-- The trigger functions run in the writer's session, which may not have the target schema on its
-- search_path (a user interface, an ad-hoc session): they carry the migration's (SET search_path FROM
-- CURRENT), so a write to the conflict tables never fails for want of the log tables.
--
-- What cannot be followed row by row asks its reader for a full rebuild (change_log_reader.rebuild):
-- TRUNCATE of the conflict tables, any change to `payers` (the payer view's eligibility of whole payers),
-- and a reader that never built its content (the rows below start with rebuild = true).

-- `entry` numbers the entries, so a reader deletes exactly those it took in.
CREATE TABLE IF NOT EXISTS change_log_staging (
    entry       int8 GENERATED ALWAYS AS IDENTITY,
    pair_id     int8,   -- conflictvisitmaps."ID" inserted, updated or deleted
    conflict_id int8    -- conflicts."CONFLICTID" inserted, updated or deleted
);

CREATE TABLE IF NOT EXISTS change_log_payer_view (
    entry       int8 GENERATED ALWAYS AS IDENTITY,
    conflict_id int8,   -- a conflict whose pairs or parent row changed (before and after a move)
    group_id    int8    -- a GroupID whose pairs changed (GROUP_SIZE counts the group's conflicts)
);

CREATE TABLE IF NOT EXISTS change_log_reader (
    reader       text PRIMARY KEY CHECK (reader IN ('staging', 'payer_view')),
    rebuild      bool NOT NULL,      -- the next refresh must rebuild everything
    window_start date,               -- staging: the visit window of its current content
    window_end   date,
    refreshed_at timestamp           -- the run start of the last refresh (business-zone wall clock)
);
INSERT INTO change_log_reader (reader, rebuild) VALUES ('staging', true), ('payer_view', true)
ON CONFLICT (reader) DO NOTHING;

CREATE OR REPLACE FUNCTION log_pair_changes() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO change_log_staging (pair_id) SELECT "ID" FROM changed;
    INSERT INTO change_log_payer_view (conflict_id, group_id)
    SELECT DISTINCT "CONFLICTID", "GroupID" FROM changed
    WHERE "CONFLICTID" IS NOT NULL OR "GroupID" IS NOT NULL;
    RETURN NULL;
END
$$;

-- A pair moved to another conflict or group: the payer view recomputes the old one as well.
CREATE OR REPLACE FUNCTION log_pair_moves() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO change_log_payer_view (conflict_id, group_id) VALUES (OLD."CONFLICTID", OLD."GroupID");
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION log_conflict_changes() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO change_log_staging (conflict_id) SELECT "CONFLICTID" FROM changed;
    INSERT INTO change_log_payer_view (conflict_id) SELECT "CONFLICTID" FROM changed;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION log_payer_changes() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        UPDATE change_log_reader SET rebuild = true WHERE reader = 'payer_view' AND NOT rebuild;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION log_truncate() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE change_log_reader SET rebuild = true WHERE NOT rebuild;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS cvm_log_inserts ON conflictvisitmaps;
CREATE TRIGGER cvm_log_inserts AFTER INSERT ON conflictvisitmaps
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION log_pair_changes();
DROP TRIGGER IF EXISTS cvm_log_updates ON conflictvisitmaps;
CREATE TRIGGER cvm_log_updates AFTER UPDATE ON conflictvisitmaps
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION log_pair_changes();
DROP TRIGGER IF EXISTS cvm_log_deletes ON conflictvisitmaps;
CREATE TRIGGER cvm_log_deletes AFTER DELETE ON conflictvisitmaps
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION log_pair_changes();
DROP TRIGGER IF EXISTS cvm_log_moves ON conflictvisitmaps;
CREATE TRIGGER cvm_log_moves AFTER UPDATE OF "CONFLICTID", "GroupID" ON conflictvisitmaps
    FOR EACH ROW
    WHEN (OLD."CONFLICTID" IS DISTINCT FROM NEW."CONFLICTID" OR OLD."GroupID" IS DISTINCT FROM NEW."GroupID")
    EXECUTE FUNCTION log_pair_moves();
DROP TRIGGER IF EXISTS cvm_log_truncate ON conflictvisitmaps;
CREATE TRIGGER cvm_log_truncate AFTER TRUNCATE ON conflictvisitmaps
    FOR EACH STATEMENT EXECUTE FUNCTION log_truncate();

DROP TRIGGER IF EXISTS cf_log_inserts ON conflicts;
CREATE TRIGGER cf_log_inserts AFTER INSERT ON conflicts
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION log_conflict_changes();
DROP TRIGGER IF EXISTS cf_log_updates ON conflicts;
CREATE TRIGGER cf_log_updates AFTER UPDATE ON conflicts
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION log_conflict_changes();
DROP TRIGGER IF EXISTS cf_log_deletes ON conflicts;
CREATE TRIGGER cf_log_deletes AFTER DELETE ON conflicts
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION log_conflict_changes();
DROP TRIGGER IF EXISTS cf_log_truncate ON conflicts;
CREATE TRIGGER cf_log_truncate AFTER TRUNCATE ON conflicts
    FOR EACH STATEMENT EXECUTE FUNCTION log_truncate();

DROP TRIGGER IF EXISTS payers_log_inserts ON payers;
CREATE TRIGGER payers_log_inserts AFTER INSERT ON payers
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION log_payer_changes();
DROP TRIGGER IF EXISTS payers_log_updates ON payers;
CREATE TRIGGER payers_log_updates AFTER UPDATE ON payers
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION log_payer_changes();
DROP TRIGGER IF EXISTS payers_log_deletes ON payers;
CREATE TRIGGER payers_log_deletes AFTER DELETE ON payers
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION log_payer_changes();
DROP TRIGGER IF EXISTS payers_log_truncate ON payers;
CREATE TRIGGER payers_log_truncate AFTER TRUNCATE ON payers
    FOR EACH STATEMENT EXECUTE FUNCTION log_truncate();
