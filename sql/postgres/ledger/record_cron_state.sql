UPDATE pipeline_run SET pg_cron_state = %(state)s WHERE run_id = %(run_id)s
