-- One speed band (a handful per run, so one statement per band).
INSERT INTO VC_MPH_BAND (band_rank, lo, hi, mph, is_last)
VALUES (%(band_rank)s, %(lo)s, %(hi)s, %(mph)s, %(is_last)s)
