-- The columns and types of one source table, when it is a table rather than a view (the emulation).
DESCRIBE TABLE {table}
