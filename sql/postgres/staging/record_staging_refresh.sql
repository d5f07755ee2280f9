-- The staging content now follows the change log from here, for this window.
UPDATE change_log_reader
SET rebuild = false, window_start = %(window_start)s, window_end = %(window_end)s, refreshed_at = %(now)s
WHERE reader = 'staging'
