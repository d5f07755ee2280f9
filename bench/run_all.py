"""Run every benchmark with its default (issue-target) settings, one after the other.

    .venv/bin/python bench/run_all.py          (or `make bench`)

Each benchmark prints its medians and writes a JSON file into bench/results/.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    ["bench.bench_generate", "--scale", "0.01", "--repetitions", "3"],
    ["bench.bench_merge", "--runs", "3", "--writers", "2"],
    ["bench.bench_chunk_memory"],
    ["bench.bench_status"],
    ["bench.bench_inservice_staging"],
    ["bench.bench_pipeline", "--scale", "0.01"],
]


def main() -> int:
    failed = 0
    for argv in BENCHMARKS:
        print(f"== {' '.join(argv)}", flush=True)
        failed += subprocess.call([sys.executable, "-m", *argv]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
