"""Transient versus permanent failures (visit_conflicts.errors): the one classification behind the
entrypoint's exit status, the Lambda error name and the in-process retries."""

from __future__ import annotations

import psycopg
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from visit_conflicts import errors
from visit_conflicts.config import ConfigError
from visit_conflicts.store.ledger import RunNotOpenError


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"}}, "GetSecretValue")


def _snowflake(name: str, errno: int | None = None) -> Exception:
    from snowflake.connector import errors as sf

    cls = getattr(sf, name)
    error: Exception = cls(msg="x", errno=errno) if errno is not None else cls(msg="x")
    return error


@pytest.mark.parametrize(
    "exc",
    [
        psycopg.errors.SerializationFailure("could not serialize"),
        psycopg.errors.DeadlockDetected("deadlock"),
        psycopg.errors.LockNotAvailable("lock timeout"),
        psycopg.errors.AdminShutdown("terminating connection"),
        psycopg.OperationalError("connection refused"),
        ConnectionResetError("reset by peer"),
        TimeoutError("timed out"),
        _client_error("ThrottlingException"),
        _client_error("TooManyRequestsException"),
        EndpointConnectionError(endpoint_url="https://example.invalid"),
        _snowflake("ServiceUnavailableError"),
        _snowflake("OperationalError", errno=250001),
        errors.TransientError("already classified"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_transient_failures(exc: Exception) -> None:
    assert errors.is_transient(exc)
    assert errors.exit_code(exc) == errors.EXIT_TRANSIENT == 75


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad value"),
        RuntimeError("finalize refused: chunk 2 failed"),
        ConfigError("unknown key"),
        RunNotOpenError("run closed"),
        psycopg.errors.UniqueViolation("duplicate key"),
        psycopg.errors.UndefinedTable("no such table"),
        psycopg.errors.QueryCanceled("statement timeout"),
        _client_error("AccessDeniedException"),
        _client_error("ResourceNotFoundException"),
        _snowflake("ProgrammingError", errno=2003),
        _snowflake("OperationalError", errno=251005),
    ],
    ids=lambda e: type(e).__name__,
)
def test_permanent_failures(exc: Exception) -> None:
    assert not errors.is_transient(exc)
    assert errors.exit_code(exc) == errors.EXIT_PERMANENT == 1


def test_a_wrapped_transient_failure_is_transient() -> None:
    """Steps wrap driver errors in errors that say what failed (`raise ... from exc`)."""
    try:
        try:
            raise psycopg.errors.DeadlockDetected("deadlock")
        except psycopg.Error as exc:
            raise RuntimeError("status unit cascade_resolve_cf failed and was rolled back") from exc
    except RuntimeError as wrapped:
        assert errors.is_transient(wrapped)


def test_a_suppressed_context_does_not_count() -> None:
    try:
        try:
            raise ConnectionResetError("reset")
        except ConnectionResetError:
            raise ValueError("bad parameter") from None
    except ValueError as exc:
        assert not errors.is_transient(exc)


def test_the_error_name_is_the_class_name_lambda_reports() -> None:
    assert errors.TransientError.__name__ == errors.TRANSIENT_ERROR
