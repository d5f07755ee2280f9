-- The columns a table has (of those asked for), to analyse only existing ones.
SELECT a.attname
FROM pg_attribute a
WHERE a.attrelid = %(table)s::regclass AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attname = ANY (%(columns)s)
ORDER BY a.attnum
