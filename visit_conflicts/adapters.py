"""What the Lambda handlers and the Fargate entrypoint share: turning a state-machine payload into
parameters, a run context and database resources.

The payload carries only ids, the run context, parameter overrides, the chunk list and small
summaries (never credentials, never bulk results). Credentials come from Secrets Manager; the secret
names come from the environment's config file.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, TypeVar

from visit_conflicts.config import ConfigError, Params, load_params
from visit_conflicts.context import RunContext
from visit_conflicts.environment import environment_name, running_in_aws
from visit_conflicts.errors import TransientError, is_transient
from visit_conflicts.secrets import AwsSecrets, EnvSecrets, SecretsProvider, postgres_dsn
from visit_conflicts.step_api import Resources

# The top-level keys of an execution input: parameter overrides go under "params" (D3), nothing else.
EXECUTION_INPUT_KEYS = frozenset({"params"})

_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def check_keys(what: str, event: dict[str, Any], allowed: Collection[str]) -> None:
    """Reject keys the receiver does not know: a misplaced key must not be silently ignored (D3)."""
    unknown = sorted(set(event) - set(allowed))
    if unknown:
        raise ConfigError(f"{what}: unknown top-level key(s) {unknown}; allowed: {sorted(allowed)}")


def execution_input(value: Any) -> dict[str, Any]:
    """The execution input (a JSON object, or its text as EventBridge passes it), its keys checked.

    `{"steps": [...]}` without "params" is refused, not run as a full run: the overrides belong in
    `{"params": {...}}`."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as exc:
            raise ConfigError(f"the execution input is not valid JSON ({exc.msg})") from None
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError('the execution input must be a JSON object such as {"params": {}}')
    unknown = sorted(set(value) - EXECUTION_INPUT_KEYS)
    if unknown:
        raise ConfigError(
            f"the execution input has unknown top-level key(s) {unknown}: parameter overrides go under "
            f'"params", e.g. {{"params": {{"steps": ["detect", "finalize"]}}}}'
        )
    return value


def params_from_event(event: dict[str, Any]) -> Params:
    """D3: the environment's config plus the overrides (`event["params"]`), validated."""
    overrides = event.get("params") or {}
    if not isinstance(overrides, dict):
        raise ConfigError("params: the execution input's 'params' must be a JSON object")
    return load_params(environment_name(), overrides)


def params_from_input(value: Any) -> Params:
    """D3: the parameters of an execution input (its keys checked first)."""
    return params_from_event(execution_input(value))


def transient_as_error_name(handler: _Handler) -> _Handler:
    """Lambda handlers: re-raise a transient failure as `TransientError`, the one error name the state
    machine retries (Lambda reports an exception by its class name); others propagate unchanged."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except TransientError:
            raise
        except Exception as exc:
            if is_transient(exc):
                raise TransientError(f"{type(exc).__name__}: {exc}") from exc
            raise

    return wrapper  # type: ignore[return-value]


def secrets_provider() -> SecretsProvider:
    return AwsSecrets() if running_in_aws() else EnvSecrets()


def resources(params: Params, provider: SecretsProvider | None = None) -> Resources:
    provider = provider or secrets_provider()
    pg = provider.get(params.target.secret_name)
    source_dir = os.environ.get("VC_SOURCE_DIR")  # local emulation only; unset in AWS
    secret_name = params.source.secret_name

    def load_source_credentials() -> dict[str, Any]:
        assert provider is not None
        return provider.get(secret_name)

    target = params.target
    return Resources(
        pg_dsn=postgres_dsn(pg, host=target.host, port=target.port, dbname=target.dbname),
        schema=params.target.schema_name,
        source_dir=Path(source_dir) if source_dir else None,
        credentials_loader=load_source_credentials,
    )


def params_for_cleanup(value: Any) -> tuple[Params, str | None]:
    """The closing steps must run even when the execution input is invalid (D19): fall back to the
    environment's config and report why. (A run that opened is closed with the parameters the ledger
    stored for it, see `step_runner.close_run`; these only find its schema.)"""
    try:
        return params_from_input(value), None
    except ConfigError as exc:
        return load_params(environment_name()), f"the execution input was rejected: {exc}"


def context_from_event(event: dict[str, Any]) -> RunContext:
    try:
        return RunContext.from_json(event["context"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"the payload has no valid run context ({exc}); was preflight skipped?") from None
