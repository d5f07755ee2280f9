-- ROUND of a DOUBLE to 2 decimals, as D7 rounds distances and travel minutes. Recorded from the
-- emulation; the real engine's answer on these binary half-way cases is what this probe checks.
SELECT
    ROUND(CAST(2.675 AS DOUBLE), 2) AS two_six_seven_five,
    ROUND(CAST(1.005 AS DOUBLE), 2) AS one_zero_zero_five,
    ROUND(CAST(0.125 AS DOUBLE), 2) AS exact_half,
    ROUND(CAST(-2.5 AS DOUBLE), 0) AS negative_half
