-- `visit-conflicts explain`: whether the target schema (the search_path) has the conflict history table
-- conflict_event (issue 14: an append-only record of every status change of a pair or conflict).
SELECT to_regclass('conflict_event') IS NOT NULL
