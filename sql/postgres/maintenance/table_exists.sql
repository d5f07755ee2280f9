-- Whether a table or view of the schema exists (the name is quoted: it is never parsed as SQL).
SELECT to_regclass(quote_ident(%(name)s)) IS NOT NULL
