-- D7: the distance multiplier of the settings row "ID" = 0 (NULL or no row means 1.0, decided in Python).
SELECT "ExtraDistancePer" FROM settings WHERE "ID" = 0
