"""Credentials for both databases, never in code, logs, config files or state machine payloads.

Locally they come from the environment or a `.env` file (`VC_PG_DSN`, `VC_SNOWFLAKE_*`); in AWS from
Secrets Manager through Powertools Parameters (cached, JSON secrets). A missing secret is a
configuration error that names the secret and what it must contain.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from visit_conflicts.config import ConfigError
from visit_conflicts.environment import running_in_aws


class SecretsProvider(Protocol):
    def get(self, name: str) -> dict[str, Any]: ...


@dataclass
class EnvSecrets:
    """Secrets from the environment (and `.env`): secret `postgres` -> `VC_POSTGRES_*` variables etc.

    A whole secret may also be given as JSON in `VC_SECRET_<NAME>`.
    """

    env_file: Path | None = Path(".env")

    def __post_init__(self) -> None:
        if self.env_file is not None and self.env_file.exists():
            from dotenv import load_dotenv

            load_dotenv(self.env_file, override=False)

    def get(self, name: str) -> dict[str, Any]:
        key = "VC_SECRET_" + _env_name(name)
        if key in os.environ:
            try:
                value = json.loads(os.environ[key])
            except json.JSONDecodeError as exc:
                raise ConfigError(f"secret {name!r}: {key} is not valid JSON ({exc.msg})") from None
            if not isinstance(value, dict):
                raise ConfigError(f"secret {name!r}: {key} must hold a JSON object")
            return value
        prefix = f"VC_{_env_name(name)}_"
        found = {k[len(prefix) :].lower(): v for k, v in os.environ.items() if k.startswith(prefix)}
        if not found:
            raise ConfigError(f"secret {name!r} not found: set {key} (JSON) or {prefix}* variables")
        return found


@dataclass
class AwsSecrets:
    """Secrets Manager through Powertools Parameters (cached for the life of the Lambda or task)."""

    max_age: int = 300

    def get(self, name: str) -> dict[str, Any]:
        from aws_lambda_powertools.utilities import parameters

        try:
            value = parameters.get_secret(name, transform="json", max_age=self.max_age)
        except parameters.exceptions.GetParameterError as exc:
            raise ConfigError(f"secret {name!r} could not be read from Secrets Manager: {exc}") from None
        if not isinstance(value, dict):
            raise ConfigError(f"secret {name!r} must be a JSON object")
        return value


def _env_name(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).upper()


# Where the container images keep the RDS certificate bundle (containers/Dockerfile).
RDS_CA_BUNDLE = "/etc/ssl/certs/rds-global-bundle.pem"


def postgres_dsn(
    secret: dict[str, Any], *, host: str | None = None, port: int | None = None, dbname: str | None = None
) -> str:
    """Build a libpq DSN from a secret: either {"dsn": ...} or the RDS fields host/port/username/...

    An RDS-managed master-user secret holds only `username` and `password`: `host`, `port` and
    `dbname` then come from the environment's config (`[target]`), which fill what the secret lacks.
    The accepted shapes are documented in docs/runbook.md ("Secrets").

    TLS: in AWS the default is `sslmode=verify-full` against the RDS certificate bundle of the image (the
    server's name and certificate are checked); locally `prefer`. A secret may set `sslmode` and
    `sslrootcert` itself.
    """
    if "dsn" in secret:
        return str(secret["dsn"])
    fields = {
        "host": secret.get("host") or host,
        "username": secret.get("username"),
        "password": secret.get("password"),
    }
    missing = [k for k, v in fields.items() if not v]
    if missing:
        hint = (
            " (an RDS-managed secret has no host: set [target] host in the config)"
            if "host" in missing
            else ""
        )
        raise ConfigError(f"postgres secret lacks {', '.join(missing)}{hint}")
    from psycopg.conninfo import make_conninfo

    in_aws = running_in_aws()
    tls: dict[str, str] = {"sslmode": str(secret.get("sslmode", "verify-full" if in_aws else "prefer"))}
    if tls["sslmode"] in ("verify-ca", "verify-full"):
        tls["sslrootcert"] = str(secret.get("sslrootcert", os.environ.get("VC_PG_CA_BUNDLE", RDS_CA_BUNDLE)))
    return make_conninfo(
        host=str(fields["host"]),
        port=str(secret.get("port") or port or 5432),
        user=str(fields["username"]),
        password=str(fields["password"]),
        dbname=str(secret.get("dbname") or dbname or "conflict_management"),
        **tls,
    )
