"""What the Lambda handlers and the Fargate entrypoint share: turning a state-machine payload into
parameters, a run context and database resources.

The payload carries only ids, the run context, parameter overrides, the chunk list and small
summaries (never credentials, never bulk results). Credentials come from Secrets Manager; the secret
names come from the environment's config file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from visit_conflicts.config import Params, load_params
from visit_conflicts.context import RunContext
from visit_conflicts.environment import environment_name, running_in_aws
from visit_conflicts.secrets import AwsSecrets, EnvSecrets, SecretsProvider, postgres_dsn
from visit_conflicts.step_api import Resources


def params_from_event(event: dict[str, Any]) -> Params:
    """D3: the environment's config plus the execution input's overrides, validated."""
    overrides = event.get("params") or {}
    if not isinstance(overrides, dict):
        from visit_conflicts.config import ConfigError

        raise ConfigError("params: the execution input's 'params' must be a JSON object")
    return load_params(environment_name(), overrides)


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

    return Resources(
        pg_dsn=postgres_dsn(pg),
        schema=params.target.schema_name,
        source_dir=Path(source_dir) if source_dir else None,
        credentials_loader=load_source_credentials,
    )


def params_for_cleanup(event: dict[str, Any]) -> tuple[Params, str | None]:
    """Cleanup must run even when the execution input is invalid (D19): fall back to the environment's
    config and report why."""
    from visit_conflicts.config import ConfigError

    try:
        return params_from_event(event), None
    except ConfigError as exc:
        return load_params(environment_name()), f"the execution input was rejected: {exc}"


def context_from_event(event: dict[str, Any]) -> RunContext:
    try:
        return RunContext.from_json(event["context"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"the payload has no valid run context ({exc}); was preflight skipped?") from None
