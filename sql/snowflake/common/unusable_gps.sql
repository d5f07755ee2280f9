-- Whether a visit row (alias cr) carries a call-out or call-in GPS text that is there (not NULL, '' or
-- ',') but gives no latitude in [-90, 90] and longitude in [-180, 180] (D6: such a text is ignored). A
-- coordinate parses only in plain decimal notation (decimal_pattern), as in visit_attributes.sql.
COALESCE(
    (
        TRIM(REPLACE(cr."Call Out GPS Coordinates", '"', '')) NOT IN ('', ',')
        AND NOT COALESCE(
            REGEXP_LIKE(TRIM(SPLIT_PART(REPLACE(cr."Call Out GPS Coordinates", '"', ''), ',', 1)), %(decimal_pattern)s)
            AND REGEXP_LIKE(TRIM(SPLIT_PART(REPLACE(cr."Call Out GPS Coordinates", '"', ''), ',', 2)), %(decimal_pattern)s)
            AND TRY_CAST(TRIM(SPLIT_PART(REPLACE(cr."Call Out GPS Coordinates", '"', ''), ',', 1)) AS DOUBLE) BETWEEN -90 AND 90
            AND TRY_CAST(TRIM(SPLIT_PART(REPLACE(cr."Call Out GPS Coordinates", '"', ''), ',', 2)) AS DOUBLE) BETWEEN -180 AND 180,
            FALSE
        )
    )
    OR
    (
        TRIM(REPLACE(cr."Call In GPS Coordinates", '"', '')) NOT IN ('', ',')
        AND NOT COALESCE(
            REGEXP_LIKE(TRIM(SPLIT_PART(REPLACE(cr."Call In GPS Coordinates", '"', ''), ',', 1)), %(decimal_pattern)s)
            AND REGEXP_LIKE(TRIM(SPLIT_PART(REPLACE(cr."Call In GPS Coordinates", '"', ''), ',', 2)), %(decimal_pattern)s)
            AND TRY_CAST(TRIM(SPLIT_PART(REPLACE(cr."Call In GPS Coordinates", '"', ''), ',', 1)) AS DOUBLE) BETWEEN -90 AND 90
            AND TRY_CAST(TRIM(SPLIT_PART(REPLACE(cr."Call In GPS Coordinates", '"', ''), ',', 2)) AS DOUBLE) BETWEEN -180 AND 180,
            FALSE
        )
    ),
    FALSE
)
