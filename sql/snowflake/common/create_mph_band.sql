-- Session table of speed bands (PostgreSQL mph). D7: a band covers [lo, hi) miles; band_rank orders
-- the bands by (From, To, mph) and the first matching band wins; the last band (is_last) also covers
-- every distance >= its hi.
CREATE OR REPLACE TEMPORARY TABLE VC_MPH_BAND (
    band_rank INTEGER,
    lo DOUBLE,
    hi DOUBLE,
    mph DOUBLE,
    is_last BOOLEAN
)
