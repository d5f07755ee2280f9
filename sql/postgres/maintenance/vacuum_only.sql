-- D21: dead rows of a table the run wrote; its statistics come from analyze_columns.sql. Needs autocommit.
VACUUM {table}
