-- The table holds this run's rows only: give back its pages and its indexes' pages now.
TRUNCATE {table}
