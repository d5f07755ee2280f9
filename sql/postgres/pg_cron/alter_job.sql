-- Enable or disable the job (D18: toggled, never dropped or rescheduled).
SELECT cron.alter_job(%(jobid)s, active := %(active)s)
