-- The change log entries this maintenance takes in, as they are now; later ones stay for the next.
CREATE TEMP TABLE _payer_view_log ON COMMIT DROP AS
SELECT entry, conflict_id, group_id FROM change_log_payer_view
