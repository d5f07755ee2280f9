-- Active visits: the columns the pipeline reads plus those present in the source but unread
-- ("Permanent Deleted", "External Source", "ENVIRONMENT", "Updated Datatimestamp",
-- "Application Service Code Id"). In production this is a view that hides "Permanent Deleted" = TRUE.
-- Ids are UUID text; TIMESTAMP_TZ values are instants whose New York wall-clock time is the business time.
CREATE TABLE IF NOT EXISTS FACTVISITCALLPERFORMANCE_CR (
    -- @include snowflake/common/visit_fact_columns.sql
)
