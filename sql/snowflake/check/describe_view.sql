-- The columns and types of one source view ({table} is a source table name, quoted).
DESCRIBE VIEW {table}
