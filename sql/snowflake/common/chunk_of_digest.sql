-- The chunk of a group: MOD(h, chunks) with h = the first four hex digits of `digest` (the MD5 of the
-- trimmed SSN) read as an integer. Python's twin: visit_conflicts.source.common.chunk_of.
MOD(
    (POSITION(SUBSTR(digest, 1, 1) IN '0123456789abcdef') - 1) * 4096
    + (POSITION(SUBSTR(digest, 2, 1) IN '0123456789abcdef') - 1) * 256
    + (POSITION(SUBSTR(digest, 3, 1) IN '0123456789abcdef') - 1) * 16
    + (POSITION(SUBSTR(digest, 4, 1) IN '0123456789abcdef') - 1),
    %(chunks)s
)
