"""The development kit: what a laptop and CI need to run the pipeline on embedded parts, and what the tests
use as an independent statement of the rules. None of it is installed in the container images.

- `devkit.generate`: the deterministic synthetic source generator (Snowflake emulation + reference tables).
- `devkit.emulation`: the Snowflake emulation (fakesnow) behind the real connector API.
- `devkit.local_postgres`: the project's own PostgreSQL server for `local up` and the test suite.
- `devkit.rules`: the conflict rules in plain Python, the oracle the SQL engine is tested against.
- `devkit.geometry`: the D7 distance arithmetic shared by the oracle and the generator's planted cases.
"""
