-- What a CREATE TABLE ... LIKE does not copy: owner, table comment, storage parameters, and the
-- privileges (one row per grant, from the ACL; grantee NULL means PUBLIC; the owner's own rights are
-- implicit and left out).
SELECT
    pg_get_userbyid(c.relowner) AS owner,
    obj_description(c.oid, 'pg_class') AS comment,
    c.reloptions AS reloptions,
    COALESCE(
        (SELECT array_agg(
                    ARRAY[CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END,
                          a.privilege_type,
                          CASE WHEN a.is_grantable THEN 'yes' ELSE 'no' END])
         FROM aclexplode(c.relacl) a
         WHERE a.grantee <> c.relowner),
        '{}'
    ) AS grants
FROM pg_class c
WHERE c.oid = %(table)s::regclass
