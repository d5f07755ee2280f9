-- Permanently deleted visits: the same columns as FACTVISITCALLPERFORMANCE_CR,
-- with "Permanent Deleted" = TRUE. Status management (phase B) reads the "Visit Id" of rows inside the visit
-- window whose "Visit Updated Timestamp" is at or after the cutoff.
CREATE TABLE IF NOT EXISTS FACTVISITCALLPERFORMANCE_DELETED_CR (
    -- @include snowflake/common/visit_fact_columns.sql
)
