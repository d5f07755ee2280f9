-- D21: row counts from the planner statistics (pg_class.reltuples), never COUNT(*) on big tables.
SELECT c.relname, greatest(c.reltuples, 0)::bigint
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relname = ANY(%(tables)s)
