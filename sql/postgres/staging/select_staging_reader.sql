-- The staging reader of the change log (migration 0032): whether its content must be rebuilt, and the
-- visit window of its current content. Locked: one staging refresh at a time.
SELECT rebuild, window_start, window_end
FROM change_log_reader
WHERE reader = 'staging'
FOR UPDATE
