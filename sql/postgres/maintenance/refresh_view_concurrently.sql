-- Readers of the payer view keep reading while it refreshes (needs its unique index).
REFRESH MATERIALIZED VIEW CONCURRENTLY {view}
