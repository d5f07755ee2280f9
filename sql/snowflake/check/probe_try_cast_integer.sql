-- Known divergence: TRY_CAST of text to BIGINT. The emulation also reads hex ('0x1F') and digit groups
-- ('1_000'); Snowflake returns NULL for both. The pipeline therefore tests the digits first
-- (probe_guarded_ids.sql).
SELECT
    TRY_CAST('0x1F' AS BIGINT) AS hex,
    TRY_CAST('1_000' AS BIGINT) AS digit_groups,
    TRY_CAST('12' AS BIGINT) AS digits
