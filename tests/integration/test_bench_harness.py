"""The production-volume harness (bench/harness.py) runs end to end at a tiny scale.

One scale factor (0.001), one repetition, into a temporary directory: generation, the first load, a
warm-up night (mutate and run), the measured night's changes and the stream capture, our incremental
run, the legacy algorithm and the COPY floor on copies of the base database, then the JSON, the two
charts and the Markdown table. Numbers are not judged here (timings belong to the harness, not the
suite); only that each one was measured.
"""

from __future__ import annotations

import json
import signal
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bench import harness

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_harness_writes_json_charts_and_table(
    pg_server_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also: a scale factor whose phase dies (here SF 0.002's first load, as the kernel's OOM killer
    would) is reported as not measured, and the other scale factors' results are still written."""
    out = tmp_path / "results"
    real_one_scale = harness.one_scale

    def one_scale(dsn: str, scale: float, opts: Any, work: Path) -> dict[str, Any]:
        if scale == 0.002:
            raise harness.PhaseFailed("run", -signal.SIGKILL, "")
        return real_one_scale(dsn, scale, opts, work)

    monkeypatch.setattr(harness, "one_scale", one_scale)
    code = harness.main(
        [
            "--scales",
            "0.002,0.001",
            "--repetitions",
            "1",
            "--first-load-chunks",
            "1",
            "--warm-nights",
            "1",
            "--pg-dsn",
            pg_server_dsn,
            "--db-prefix",
            f"vch_{uuid.uuid4().hex[:8]}",
            "--work-dir",
            str(tmp_path / "work"),
            "--results-dir",
            str(out),
            "--statement-profile",
        ]
    )
    assert code == 0
    [json_path] = out.glob("harness-*.json")
    data = json.loads(json_path.read_text())
    assert data["machine"]["cores"] and data["machine"]["postgresql"]
    [scale] = data["scales"]
    assert scale["scale"] == 0.001 and scale["generate"]["visits"] > 0
    first = scale["first_load"]
    assert first["volumes"]["regular_pairs"] > 0 and first["steps"]["detect"]["seconds"] > 0
    # One warm-up night (the default is 2) between the first load and the measured night: the measured run's
    # cutoff lies after the first load's start, so its delta scope is nightly-sized (steady state).
    [warm] = scale["warmup"]
    assert warm["steps"]["detect"]["seconds"] > 0 and warm["mutation"]["added_visits"] > 0
    [run] = scale["incremental"]
    assert datetime.fromisoformat(run["cutoff"]) > harness.ANCHOR and "note" not in run
    for step in ("staging", "plan", "detect", "finalize", "inservice", "status", "maintenance", "restore"):
        measured = run["steps"][step]
        # A step of a few milliseconds (restore) can end between two RSS samples.
        assert measured["seconds"] >= 0 and measured["peak_rss_mb"] >= 0, (step, measured)
        assert isinstance(measured["rows_read"], int) and isinstance(measured["rows_written"], int)
    assert run["steps"]["detect"]["peak_rss_mb"] > 0
    assert run["steps"]["detect"]["rows_read"] == scale["prepare"]["stream_pairs"] > 0
    [legacy] = scale["legacy"]
    for part in ("staging", "merge", "stale cleanup", "status"):
        assert legacy[part]["seconds"] > 0, part
        assert scale["ratios"][part]["legacy_seconds"] > 0
    assert legacy["merge"]["rows_fetched"] == scale["prepare"]["stream_pairs"]
    [floor] = scale["floor"]
    assert floor["rows"] == scale["prepare"]["stream_pairs"] and floor["seconds"] > 0
    assert scale["disk"]["base_database_bytes"] > 0 and scale["disk"]["source_bytes"] > 0
    # --statement-profile: the extra run's statements, from the server's log, per step and SQL file.
    profile = scale["statement_profile"]
    assert "error" not in profile, profile
    detect = profile["steps"]["detect"]
    assert detect["logged_seconds"] > 0
    named = {x["statement"] for x in detect["statements"]}
    assert named & {"detect/probe_batch_keys.sql", 'COPY "conflictvisitmaps"', "COPY _batch_keys"}, named
    assert "finalize/stale_pairs.sql" in {x["statement"] for x in profile["steps"]["finalize"]["statements"]}
    for chart in ("step_time_vs_scale.png", "incremental_vs_legacy.png"):
        data_bytes = (out / chart).read_bytes()
        assert data_bytes.startswith(PNG_MAGIC) and len(data_bytes) > 5_000
    table = (out / "RESULTS.md").read_text()
    assert "| 0.001 |" in table and "merge (PostgreSQL busy time of detect)" in table
    assert "Where the server's time goes" in table and "| detect |" in table
    [failed] = data["skipped"]
    assert failed["scale"] == 0.002 and "phase run killed by signal 9" in failed["reason"]
    assert "| 0.002 | not measured: failed: phase run killed by signal 9" in table
