-- The highest migration applied to the target schema (NULL when none was recorded).
SELECT max(version) FROM {schema}.schema_migrations
