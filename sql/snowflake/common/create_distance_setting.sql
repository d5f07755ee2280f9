-- Session table holding the one distance multiplier (D7: settings."ExtraDistancePer", 1.0 when missing).
CREATE OR REPLACE TEMPORARY TABLE VC_DISTANCE_SETTING (extra_distance_per DOUBLE)
