COPY run_scope_group (run_id, chunk, "VisitDate", "SSN") FROM STDIN
