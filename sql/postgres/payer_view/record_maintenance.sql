-- The table follows the change log from here.
UPDATE change_log_reader SET rebuild = false, refreshed_at = %(now)s WHERE reader = 'payer_view'
