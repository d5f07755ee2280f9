"""Which failures are worth another attempt: one classification for every retry of the pipeline.

Transient: the connection to PostgreSQL or Snowflake dropped or could not be opened for a reason that
passes (reset, server restart, too many connections), a serialization failure or deadlock, a lock wait
that timed out, AWS throttling. Such a failure leaves nothing half-written (every write is one
transaction) and the same step converges when run again. Everything else is permanent (bad data the
pipeline cannot use is skipped and counted instead, D23; configuration and logic errors need a fix):
retrying it would only repeat it.
"""

from __future__ import annotations

import psycopg


class Refusal(RuntimeError):
    """An expected refusal: the run cannot or must not go on, and the message says what to fix (a run
    already active, a missing table, a partial detection). Reported in one line, never with a traceback
    on a terminal."""


def is_refusal(exc: BaseException) -> bool:
    """Expected refusals and configuration errors: what an operator fixes, not a bug."""
    from visit_conflicts.config import ConfigError

    return isinstance(exc, Refusal | ConfigError)


# SQLSTATEs of passing conditions: connection exceptions (class 08), serialization failure and deadlock
# (class 40), lock not available, operator intervention that ends sessions (shutdown, restart, cannot
# connect now), too many connections.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300", "53400"})
_TRANSIENT_SQLSTATE_CLASSES = ("08",)
# SQLSTATEs that mean a connection failed for good (authentication, unknown database or role).
_PERMANENT_CONNECTION_SQLSTATES = frozenset({"28000", "28P01", "3D000"})
_AWS_THROTTLING = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}
)


def is_transient(exc: BaseException) -> bool:
    """True when `exc` (or the error it was raised from) is worth retrying as it is."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _transient(current):
            return True
        current = current.__cause__
    return False


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, psycopg.Error):
        state = exc.sqlstate
        if state is None:
            # No server answer at all (refused, reset, closed): the network or the server went away.
            return isinstance(exc, psycopg.OperationalError)
        if state in _PERMANENT_CONNECTION_SQLSTATES:
            return False
        return state in _TRANSIENT_SQLSTATES or state.startswith(_TRANSIENT_SQLSTATE_CLASSES)
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    module = type(exc).__module__
    if module.startswith("snowflake.connector"):
        # The connector's network errors (OperationalError and its subclasses: connection lost,
        # service unavailable, request timeout); programming errors (bad SQL, missing table) are not.
        return any(base.__name__ == "OperationalError" for base in type(exc).__mro__)
    if module.startswith("botocore"):
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        return code in _AWS_THROTTLING or type(exc).__name__ in (
            "EndpointConnectionError",
            "ReadTimeoutError",
        )
    return False
