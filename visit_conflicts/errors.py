"""Which failures are worth retrying: one classification for every engine and every retry mechanism.

A failure is *transient* when the same call, repeated a little later, can succeed without anything
being fixed: a dropped or refused connection, a serialization failure or deadlock the database chose
this transaction to lose, a lock or server that is briefly unavailable, throttling by an AWS service,
a Snowflake network or gateway error. Everything else (a logic error, a constraint violation, a bad
parameter, a missing table, a statement timeout, a run that is no longer open) is *permanent*:
retrying it only repeats the failure, so it goes straight to the run's failure path.

Users of `is_transient`:
- the Fargate entrypoint exits with `EXIT_TRANSIENT` (75, sysexits' EX_TEMPFAIL) instead of
  `EXIT_PERMANENT` (1); the state machine turns the exit code into the error name `TRANSIENT_ERROR`,
  and only that name is retried (with backoff and jitter);
- the Lambda adapters re-raise a transient failure as `TransientError`, whose class name is the error
  name Step Functions sees;
- in-process retries (tenacity) of the runtime use the same predicate.

The exception chain is followed (`__cause__`, then `__context__`), because steps wrap driver errors in
errors that say what failed (e.g. the status units).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

# The error name Step Functions retries; also the class name of `TransientError` (Lambda reports an
# unhandled exception under its class name).
TRANSIENT_ERROR: Final = "TransientError"
EXIT_OK: Final = 0
EXIT_PERMANENT: Final = 1
EXIT_TRANSIENT: Final = 75  # sysexits.h EX_TEMPFAIL: "temporary failure, try again later"

# PostgreSQL SQLSTATEs worth a retry.
_PG_TRANSIENT_STATES: Final = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available (lock_timeout)
        "53300",  # too_many_connections
        "57P01",  # admin_shutdown (failover, restart)
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, recovery)
        "58000",  # system_error (I/O trouble on the server)
        "08000",  # connection_exception
        "08001",  # sqlclient_unable_to_establish_sqlconnection
        "08003",  # connection_does_not_exist
        "08004",  # sqlserver_rejected_establishment_of_sqlconnection
        "08006",  # connection_failure
    }
)
# AWS error codes (botocore ClientError) meaning "slow down" or "try again".
_AWS_TRANSIENT_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServiceError",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# Snowflake connector errors that are network, gateway or capacity trouble.
_SNOWFLAKE_TRANSIENT_CLASSES: Final = frozenset(
    {
        "BadGatewayError",
        "GatewayTimeoutError",
        "ServiceUnavailableError",
        "OtherHTTPRetryableError",
        "RequestTimeoutError",
        "TooManyRequests",
        "InternalServerError",
        "RequestExceedMaxRetryError",
    }
)
# Snowflake connector error numbers (`snowflake.connector.errorcode`) of connection failures: failed to
# connect, connection closed, failed to request, failed to reach the server, connection timeout,
# retryable HTTP code.
_SNOWFLAKE_TRANSIENT_ERRNOS: Final = frozenset({250001, 250002, 250003, 250005, 251011, 251012})


class Refusal(RuntimeError):
    """An expected refusal: the run cannot or must not go on, and the message says what to fix (a run
    already active, a missing table, a partial detection). Permanent, and reported in one line, never
    with a traceback on a terminal."""


def is_refusal(exc: BaseException) -> bool:
    """Expected refusals and configuration errors: what an operator fixes, not a bug."""
    from visit_conflicts.config import ConfigError

    return isinstance(exc, Refusal | ConfigError)


class TransientError(RuntimeError):
    """A failure worth retrying, re-raised by the Lambda adapters under this name (see module doc)."""


def is_transient(exc: BaseException) -> bool:
    """True when `exc`, or an exception it was raised from, is a transient failure (module doc)."""
    return any(_transient_itself(e) for e in _chain(exc))


def exit_code(exc: BaseException) -> int:
    """The Fargate entrypoint's exit code for a failed step."""
    return EXIT_TRANSIENT if is_transient(exc) else EXIT_PERMANENT


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)


def _transient_itself(exc: BaseException) -> bool:
    if isinstance(exc, TransientError):
        return True
    module = type(exc).__module__
    if module.startswith("psycopg"):
        return _postgres_transient(exc)
    if module.startswith("snowflake.connector"):
        return _snowflake_transient(exc)
    if module.startswith(("botocore", "boto3")):
        return _aws_transient(exc)
    # The socket layer below any client.
    return isinstance(exc, ConnectionError | TimeoutError)


def _postgres_transient(exc: BaseException) -> bool:
    import psycopg

    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _PG_TRANSIENT_STATES or sqlstate.startswith("08")
    # No SQLSTATE: the connection could not be made or was lost (psycopg raises OperationalError).
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)


def _snowflake_transient(exc: BaseException) -> bool:
    if type(exc).__name__ in _SNOWFLAKE_TRANSIENT_CLASSES:
        return True
    return getattr(exc, "errno", None) in _SNOWFLAKE_TRANSIENT_ERRNOS


def _aws_transient(exc: BaseException) -> bool:
    name = type(exc).__name__
    if name in {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
    }:
        return True
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return code in _AWS_TRANSIENT_CODES
    return False
