-- The table's CHECK constraints, to recreate on the rebuilt table.
SELECT conname, pg_get_constraintdef(oid)
FROM pg_constraint
WHERE conrelid = %(table)s::regclass AND contype = 'c'
ORDER BY conname
