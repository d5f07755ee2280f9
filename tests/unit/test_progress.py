"""Progress bars (issue 14): drawn on a terminal or with --progress, never in AWS, never otherwise."""

from __future__ import annotations

import io
import sys

import pytest

from visit_conflicts import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bars_are_wanted_only_on_a_terminal_or_when_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.delenv("ECS_CONTAINER_METADATA_URI_V4", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not progress.wanted()
    assert progress.wanted(force=True)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert progress.wanted()
    assert not progress.wanted(off=True)


def test_bars_are_never_wanted_in_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """CloudWatch would keep every redraw of a bar as a log line."""
    monkeypatch.setattr(sys, "stderr", _Terminal())
    monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", "http://169.254.170.2/v4/task")
    assert not progress.wanted(force=True)


def test_a_task_draws_only_inside_showing(capsys: pytest.CaptureFixture[str]) -> None:
    with progress.task("generate", total=3, unit="chunk") as bar:
        bar.phase("writing")
        bar.advance()
    assert capsys.readouterr().err == ""
    with progress.showing(True), progress.task("generate", total=3, unit="chunk") as bar:
        bar.phase("writing")
        bar.advance(3)
    err = capsys.readouterr().err
    assert "generate" in err and "3/3" in err and "writing" in err
    with progress.showing(False), progress.task("staging", total=1) as bar:
        bar.advance()
    assert capsys.readouterr().err == ""
