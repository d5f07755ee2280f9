-- D21: statistics of the columns that queries filter, join or group on (not of every column of a wide
-- table: the planner never looks at the others).
ANALYZE {table} ({columns})
