UPDATE pipeline_run SET table_rows_before = %(rows)s WHERE run_id = %(run_id)s
