-- Whether the target schema (the search_path) has the conflict history table (migration 0035).
SELECT to_regclass('conflict_event') IS NOT NULL
