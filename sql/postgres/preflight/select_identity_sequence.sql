-- An identity column's sequence, its last value and the column's largest id (identity sync).
SELECT s.seq, pg_sequence_last_value(s.seq::regclass), m.max_id
FROM (SELECT pg_get_serial_sequence(%(table)s, %(column)s) AS seq) s
CROSS JOIN (SELECT max({column}) AS max_id FROM {table}) m
WHERE s.seq IS NOT NULL
