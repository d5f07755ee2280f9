"""The terminal (issue 14): progress bars on generate, the pipeline's steps, detect chunks and staging
phases appear with --progress and never when stderr is not a terminal; a run on generated data ends by
naming its history page and a planted case to explain."""

from __future__ import annotations

from pathlib import Path

import pytest

from visit_conflicts import cli

# tqdm's bar: "desc:  50%|#####     | 1/2 [00:01<00:01, 1.00unit/s]".
BAR = "%|"


def test_bars_only_with_progress_when_stderr_is_not_a_terminal(
    pg_server_dsn: str, schema: str, source_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """capsys's stderr is no terminal: no bar by default; --progress draws generate's chunks, the
    pipeline's steps, detect's chunks and staging's phases."""
    common = ["--pg-dsn", pg_server_dsn, "--schema", schema, "--source-dir", str(source_dir)]
    generate = ["generate", *common, "--scale", "0.0002", "--seed", "3", "--now", "2026-11-27T06:00:00-05:00"]
    assert cli.main(generate) == 0
    assert BAR not in capsys.readouterr().err
    assert cli.main([*generate, "--progress"]) == 0
    err = capsys.readouterr().err
    assert BAR in err and "generate" in err and "chunk" in err

    run = ["run", *common, "--steps", "staging,plan,detect", "--chunks", "2"]
    run += ["--now", "2026-11-27T06:00:00-05:00", "--report-dir", str(tmp_path / "reports")]
    assert cli.main(run) == 0
    out, err = capsys.readouterr()
    assert BAR not in err
    assert f"History page: {tmp_path / 'reports' / 'history.html'}" in out
    assert "Explain a planted case (rule7_distance_just_above_eta): visit-conflicts explain" in out
    assert cli.main([*run, "--progress"]) == 0
    err = capsys.readouterr().err
    for bar in ("pipeline", "detect", "staging"):
        assert any(
            line.lstrip("\r").startswith(bar) and BAR in line for line in err.replace("\r", "\n").splitlines()
        ), bar
    assert "conflictlog_staging refresh" in err and "2/2" in err
