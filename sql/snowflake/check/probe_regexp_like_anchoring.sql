-- REGEXP_LIKE matches the whole text (implicit anchors) on Snowflake; the emulation translates it to a
-- full match too. The pipeline's patterns carry explicit anchors all the same (visit_conflicts.sql_files).
SELECT
    REGEXP_LIKE('abc123', '[0-9]+') AS digits_inside,
    REGEXP_LIKE('123', '[0-9]+') AS digits_only,
    REGEXP_LIKE('123', '^[0-9]+$') AS anchored,
    REGEXP_LIKE('ABCDEF01-2345-4678-89ab-cdef01234567', '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$') AS uuid_any_case,
    REGEXP_LIKE(CAST(NULL AS VARCHAR), '[0-9]+') AS null_text
