-- The payers sync's copy of the Snowflake DIMPAYER rows (ids as text, validated when read).
CREATE TEMP TABLE _payer_source (
    payer_id     text,
    app_payer_id text,
    payer_name   text,
    is_active    bool,
    is_demo      bool
) ON COMMIT DROP
