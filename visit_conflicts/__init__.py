"""visit_conflicts: finds caregivers booked at two agencies at once and maintains the conflict tables.

Reads visits from Snowflake (read-only), detects conflicting visit pairs and writes them to PostgreSQL.
The same steps run in AWS (Step Functions, Lambda, Fargate) and locally (embedded PostgreSQL, Snowflake
emulation). See README.md for the architecture and the command line.
"""

__version__ = "0.1.0"
