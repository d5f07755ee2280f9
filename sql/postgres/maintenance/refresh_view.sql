-- The fallback when a concurrent refresh is impossible (e.g. the view was never populated).
REFRESH MATERIALIZED VIEW {view}
