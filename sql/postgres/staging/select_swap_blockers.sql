-- Objects that a build-and-rename swap of the table would leave attached to the old table, or that it
-- cannot recreate: views and rules reading it, triggers, foreign keys from or to it, constraint-backed
-- indexes, row-level security, publications, inheritance or partitioning, owned sequences, identity or
-- generated columns. When any
-- exists, the staging rebuild replaces the rows in place instead (still one transaction, D17).
-- Returns one description per blocker. (format() takes %% because the statement has bound parameters.)
WITH t AS (SELECT %(table)s::regclass AS oid)
SELECT format('view or rule %%s reads it', r.ev_class::regclass)
FROM t
JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = t.oid AND d.classid = 'pg_rewrite'::regclass
JOIN pg_rewrite r ON r.oid = d.objid
WHERE r.ev_class <> t.oid
UNION ALL
SELECT format('trigger %%s', tg.tgname) FROM t JOIN pg_trigger tg ON tg.tgrelid = t.oid WHERE NOT tg.tgisinternal
UNION ALL
SELECT format('foreign key %%s of %%s references it', c.conname, c.conrelid::regclass)
FROM t JOIN pg_constraint c ON c.confrelid = t.oid
UNION ALL
SELECT format('constraint %%s (type %%s)', c.conname, c.contype)
FROM t JOIN pg_constraint c ON c.conrelid = t.oid AND c.contype IN ('p', 'u', 'x', 'f')
UNION ALL
SELECT 'row-level security or policies'
FROM t JOIN pg_class c ON c.oid = t.oid
WHERE c.relrowsecurity OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = t.oid)
UNION ALL
SELECT format('relkind %%s (not a plain table)', c.relkind) FROM t JOIN pg_class c ON c.oid = t.oid WHERE c.relkind <> 'r'
UNION ALL
SELECT format('publication %%s', pub.pubname)
FROM t JOIN pg_publication_rel pr ON pr.prrelid = t.oid JOIN pg_publication pub ON pub.oid = pr.prpubid
UNION ALL
SELECT 'inheritance' FROM t WHERE EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = t.oid OR i.inhparent = t.oid)
UNION ALL
SELECT format('sequence %%s owned by a column', s.oid::regclass)
FROM t
JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = t.oid AND d.classid = 'pg_class'::regclass
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
UNION ALL
SELECT format('column %%s is an identity or generated column', a.attname)
FROM t JOIN pg_attribute a ON a.attrelid = t.oid
WHERE a.attnum > 0 AND NOT a.attisdropped AND (a.attidentity <> '' OR a.attgenerated <> '')
