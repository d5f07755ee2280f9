-- D17: the configured idle value; on success LastLoadDate is the run end as well.
UPDATE settings
SET "InProgressFlag" = %(idle)s,
    "LastLoadDate" = COALESCE(%(last_load)s, "LastLoadDate")
