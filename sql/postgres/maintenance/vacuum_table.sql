-- D21: only tables the run wrote; needs autocommit.
VACUUM (ANALYZE) {table}
