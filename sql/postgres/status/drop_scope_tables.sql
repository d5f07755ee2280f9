-- The status step's session tables are dropped when it ends (create_scope_tables.sql).
DROP TABLE IF EXISTS _tmp_deleted_visits, _status_scope_seed, _status_scope_row, _status_scope_conflict
