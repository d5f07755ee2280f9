-- The single row of VC_DISTANCE_SETTING.
INSERT INTO VC_DISTANCE_SETTING (extra_distance_per) VALUES (%(extra_distance_per)s)
