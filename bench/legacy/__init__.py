"""The legacy container's PostgreSQL write paths, restated small and faithfully, as a yardstick.

Bench code only: the runtime package never imports it. Each module follows the legacy container's
specification (the section numbers below are that specification's) step by step, so the harness
(bench/harness.py) can time it on the same rows and the same table as our pipeline, in the same run:

- `merge`: task02_00's batch loop (the legacy's detection write path: batches of 5K rows, existing
  rows looked up by `VisitID IN (...)` on a fresh connection, compared in Python, one UPDATE per dirty
  row and one INSERT per new row sent as psycopg2 `execute_batch` pages of 1,000) and its stale cleanup
  (the delta keys and the seen keys loaded by COPY, the anti-join, the update in 100K chunks by pair key);
- `staging`: task01 (the legacy's staging task: the payer/provider sync, then TRUNCATE and
  INSERT ... SELECT of the window's CVM rows joined to their parent);
- `status`: task03 (the legacy's status management: the deleted-visit fetch and the 15 units over the
  whole window, one transaction each, sql/status.sql).

The Snowflake side (the delta keys, the deleted ids, the payer/provider dimension rows) is read from the
emulation with the legacy's queries and is not part of the timed PostgreSQL work.
"""
