-- The chunk of a group (common/chunk_of_digest.sql): MD5 as lower-case hex and POSITION of a hex digit,
-- which visit_conflicts.source.common.chunk_of must match.
SELECT
    MD5('123-45-6789') AS digest,
    POSITION('e' IN '0123456789abcdef') AS e_position,
    MD5(CONCAT('I', CAST(CAST(12 AS NUMBER(38, 0)) AS VARCHAR))) AS inservice_visit_id
