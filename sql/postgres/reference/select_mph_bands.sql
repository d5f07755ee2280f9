-- Speed bands for the distance rule; ordered as the detection ranks them (D7: first match wins).
SELECT "From", "To", "AverageMilesPerHour" FROM mph ORDER BY "From", "To", "AverageMilesPerHour"
