-- The payer view's reader of the change log (migration 0032): must it be rebuilt? Locked: one
-- maintenance at a time.
SELECT rebuild FROM change_log_reader WHERE reader = 'payer_view' FOR UPDATE
