-- The entries this maintenance took in (take_changes.sql) are done with; the log follows the table.
DELETE FROM change_log_payer_view WHERE entry IN (SELECT entry FROM _payer_view_log)
