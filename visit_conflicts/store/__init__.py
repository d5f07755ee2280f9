"""PostgreSQL side: connections, migrations, the run ledger and the conflict-table writes."""
