"""`python -m visit_conflicts`: the command line (see visit_conflicts.cli)."""

import sys

from visit_conflicts.cli import main

sys.exit(main())
