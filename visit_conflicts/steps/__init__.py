"""Pipeline steps, one module per state-machine step, each named after its step in `pipeline.STEPS`.

Every module has `run(res, ctx, params) -> StepResult` (the mapped step also takes `chunk=N`; see
`visit_conflicts.step_api`) and holds the step's orchestration only: its PostgreSQL access is in
`visit_conflicts.store.<step>`, its Snowflake access in `visit_conflicts.source.<step>`, its statements in
`sql/postgres/<step>/` and `sql/snowflake/<step>/`.
"""
