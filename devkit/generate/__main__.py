"""Development command line of the generator's delta: `python -m devkit.generate mutate ...`.

`visit-conflicts generate --mutate` applies the nightly profile; this command also offers the bulk
refresh (`--profile bulk`), which the project command line does not expose (yet):

    .venv/bin/python -m devkit.generate mutate --source-dir .local/snowflake --profile bulk [--seed N]
        [--now 2026-11-28T11:00:00+00:00] [--fraction 0.8]

Prints the mutation's summary as JSON (as `generate --mutate` does).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

from devkit.generate.mutate import PROFILES, mutate


def _timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a time zone offset, e.g. 2026-11-28T11:00:00+00:00")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.generate", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("mutate", help="apply the next night's changes (or a bulk refresh) to a source")
    p.add_argument("--source-dir", required=True, help="a generated Snowflake emulation directory")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--now", type=_timestamp, default=None, help="the next run's now (default: previous + 1 day)"
    )
    p.add_argument("--profile", choices=PROFILES, default="nightly")
    p.add_argument("--fraction", type=float, default=None, help="share of the window's visits re-saved")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    summary = mutate(
        Path(args.source_dir), seed=args.seed, anchor=args.now, fraction=args.fraction, profile=args.profile
    )
    seconds = round(time.perf_counter() - started, 2)
    print(json.dumps({"seconds": seconds, "mutation": summary}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
