"""Connections to real Snowflake (`visit_conflicts.source.connection`), with the connector replaced by a
recorder: no account is reached."""

from __future__ import annotations

from typing import Any

import pytest

from visit_conflicts.source import connection


class _Recorder:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.kwargs: dict[str, Any] = {}

    def cursor(self) -> _Recorder:
        return self

    def execute(self, command: str, *args: Any) -> None:
        self.statements.append(command)

    def close(self) -> None:
        pass


def test_a_real_snowflake_session_is_set_to_utc_before_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """D1: dates and times come from the run's literals and the business zone, never from the
    account's session zone (Snowflake's default is America/Los_Angeles): the first statement of every
    source session sets TIMEZONE = 'UTC'."""
    import snowflake.connector

    recorder = _Recorder()

    def fake_connect(**kwargs: Any) -> _Recorder:
        recorder.kwargs = kwargs
        return recorder

    monkeypatch.setattr(snowflake.connector, "connect", fake_connect)
    conn = connection.connect_source(credentials={"account": "a", "user": "u"})
    assert conn is recorder
    assert recorder.kwargs["database"] == "ANALYTICS" and recorder.kwargs["account"] == "a"
    assert len(recorder.statements) == 1
    code = [line for line in recorder.statements[0].splitlines() if not line.startswith("--")]
    assert code == ["ALTER SESSION SET TIMEZONE = 'UTC'"]


def test_no_credentials_and_no_emulation_is_refused() -> None:
    with pytest.raises(connection.SourceError, match="no Snowflake credentials"):
        connection.connect_source()
