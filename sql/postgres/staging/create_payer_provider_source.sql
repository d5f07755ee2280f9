-- The PPR sync's copy of the Snowflake rows, as text (validated by the statements that read it).
CREATE TEMP TABLE _ppr_source (
    payer_id        text,
    app_payer_id    text,
    contract        text,
    provider_id     text,
    app_provider_id text,
    provider_name   text
) ON COMMIT DROP
