-- The window's days; the bound parameter "values" is a JSON array of [date, start, end] texts (the
-- instants with an explicit UTC offset, so no session zone is involved).
INSERT INTO VC_WINDOW_DAY (visit_date, day_start, day_end)
SELECT
    CAST(f.value[0]::VARCHAR AS DATE),
    CAST(f.value[1]::VARCHAR AS TIMESTAMP_TZ),
    CAST(f.value[2]::VARCHAR AS TIMESTAMP_TZ)
FROM TABLE(FLATTEN(INPUT => PARSE_JSON(%(values)s))) f
