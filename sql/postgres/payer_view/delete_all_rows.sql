-- Repair: the old view rows go before every row is computed again (rebuild_rows.sql).
DELETE FROM payer_conflicts_common
