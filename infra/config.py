"""The typed per-environment configuration of the deployment, read from cdk.json context.

`cdk synth -c env=dev` selects `context.environments.dev`; the model rejects unknown keys, wrong types
and impossible sizes with a message that names the key. `check_runtime_config` cross-checks the
environment's runtime config file (`config/<env>.toml`): the deployed code reads the secret names
from there, so they must be the names this deployment grants access to.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from infra import constants as c

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class InfraConfigError(ValueError):
    """cdk.json context or the runtime config file is not usable; the message says what to fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


_KMS_KEY_ARN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$"


class SecretNames(_Strict):
    """Secrets Manager names (credentials are managed outside CDK; only the names are known here), and
    the customer-managed KMS key of each secret that uses one (readers then need kms:Decrypt on it)."""

    source: str = Field(min_length=1, description="Snowflake credentials")
    target: str = Field(min_length=1, description="PostgreSQL credentials")
    source_kms_key_arn: str | None = Field(default=None, pattern=_KMS_KEY_ARN)
    target_kms_key_arn: str | None = Field(default=None, pattern=_KMS_KEY_ARN)


class NetworkConfig(_Strict):
    """The existing VPC the database lives in, imported from these attributes (no lookup at synth time,
    so synth needs no AWS credentials). The compute runs in `private_subnet_ids`, which route to the
    internet through NAT gateways `nat_gateway_ids` (their public IPs go on the Snowflake allowlist)."""

    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$")
    availability_zones: list[str] = Field(min_length=1)
    private_subnet_ids: list[str] = Field(min_length=1)
    private_subnet_route_table_ids: list[str] = Field(min_length=1)
    nat_gateway_ids: list[str] = Field(default_factory=list)
    # Whether this stack adds the S3 gateway endpoint (image layers, no NAT traffic); false when the
    # VPC already has one on these route tables (a route table takes only one).
    s3_gateway_endpoint: bool = True

    @field_validator("private_subnet_ids")
    @classmethod
    def _subnets(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.match(r"^subnet-[0-9a-f]{8,17}$", v)]
        if bad:
            raise ValueError(f"not subnet ids: {bad}")
        return value

    @field_validator("nat_gateway_ids")
    @classmethod
    def _nat_gateways(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.match(r"^nat-[0-9a-f]{8,17}$", v)]
        if bad:
            raise ValueError(f"not NAT gateway ids: {bad}")
        return value

    @model_validator(mode="after")
    def _one_per_subnet(self) -> NetworkConfig:
        n = len(self.private_subnet_ids)
        if len(self.availability_zones) != n or len(self.private_subnet_route_table_ids) != n:
            raise ValueError(
                "availability_zones, private_subnet_ids and private_subnet_route_table_ids must list one "
                f"entry per subnet, in the same order (got {len(self.availability_zones)}, {n}, "
                f"{len(self.private_subnet_route_table_ids)})"
            )
        return self


class DatabaseConfig(_Strict):
    """The PostgreSQL database's security group and port: the stack admits the compute on that port."""

    security_group_id: str = Field(pattern=r"^sg-[0-9a-f]{8,17}$")
    port: int = Field(default=5432, gt=0, lt=65536)


class ScheduleConfig(_Strict):
    # Six EventBridge Scheduler cron fields: minutes hours day-of-month month day-of-week year.
    cron: str
    time_zone: str = "America/New_York"
    enabled: bool = True

    @field_validator("cron")
    @classmethod
    def _six_fields(cls, value: str) -> str:
        if len(value.split()) != 6:
            raise ValueError(f"cron needs 6 fields (min hour day month weekday year), got {value!r}")
        return value


class EmailConfig(_Strict):
    sender: str
    recipients: list[str] = Field(min_length=1)

    @field_validator("sender")
    @classmethod
    def _sender_is_address(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"not an email address: {value!r}")
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients_are_addresses(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _EMAIL.match(v)]
        if bad:
            raise ValueError(f"not email addresses: {bad}")
        return value

    @property
    def sender_domain(self) -> str:
        return self.sender.split("@", 1)[1]


class FargateConfig(_Strict):
    cpu: int
    memory_mib: int

    @model_validator(mode="after")
    def _valid_combination(self) -> FargateConfig:
        allowed = c.FARGATE_MEMORY_BY_CPU.get(self.cpu)
        if allowed is None:
            raise ValueError(
                f"cpu {self.cpu} is not a Fargate size; use one of {sorted(c.FARGATE_MEMORY_BY_CPU)}"
            )
        if self.memory_mib not in allowed:
            raise ValueError(
                f"memory_mib {self.memory_mib} is not allowed with cpu {self.cpu}; use one of {list(allowed)}"
            )
        return self


class EnvironmentConfig(_Strict):
    """Everything that differs between environments."""

    name: str = Field(pattern=r"^[a-z0-9_-]+$")
    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    network: NetworkConfig
    database: DatabaseConfig
    secrets: SecretNames
    schedule: ScheduleConfig
    email: EmailConfig
    fargate: FargateConfig
    max_chunk_concurrency: int = Field(gt=0, le=c.MAX_INLINE_MAP_CONCURRENCY)
    log_retention_days: int
    # Upper bound of a whole run; an execution that exceeds it ends TIMED_OUT and cleanup still runs.
    # It must cover the worst case of the step list at this environment's chunk concurrency (checked).
    execution_timeout_hours: int = Field(default=12, gt=0, le=24 * 7)
    alarm_emails: list[str] = Field(default_factory=list)

    @field_validator("log_retention_days")
    @classmethod
    def _known_retention(cls, value: int) -> int:
        if value not in c.RETENTION_BY_DAYS:
            raise ValueError(
                f"{value} is not a CloudWatch Logs retention; use one of {sorted(c.RETENTION_BY_DAYS)}"
            )
        return value

    @field_validator("alarm_emails")
    @classmethod
    def _alarm_addresses(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _EMAIL.match(v)]
        if bad:
            raise ValueError(f"not email addresses: {bad}")
        return value

    @property
    def stack_name(self) -> str:
        return c.STACK_NAME_TEMPLATE.format(environment=self.name)

    @property
    def state_machine_name(self) -> str:
        """Fixed, so IAM can name its executions without a reference to the machine (no cycle)."""
        return c.STATE_MACHINE_NAME_TEMPLATE.format(environment=self.name)

    def deployed_environment(self) -> dict[str, str]:
        """The environment variables of every Lambda and container: names and addresses, never secrets."""
        return {
            c.ENV_ENVIRONMENT: self.name,
            c.ENV_EMAIL_SENDER: self.email.sender,
            c.ENV_EMAIL_RECIPIENTS: ",".join(self.email.recipients),
        }


def _format(exc: ValidationError, environment: str) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(environment)"
        reason = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"environments.{environment}.{key}: {reason}")
    return "invalid cdk.json context:\n  " + "\n  ".join(lines)


def load_environment(context: Mapping[str, Any], environment: str | None) -> EnvironmentConfig:
    """The configuration of `environment` from the app's context (cdk.json plus `-c` values)."""
    environments = context.get("environments")
    if not isinstance(environments, Mapping) or not environments:
        raise InfraConfigError(
            "no 'environments' in the app's context: run through the CDK CLI from the repository root "
            "(`cdk synth -c env=dev`), which passes cdk.json's context to app.py"
        )
    if not environment:
        raise InfraConfigError(f"no environment selected; run `cdk synth -c env=<{'|'.join(environments)}>`")
    if environment not in environments:
        raise InfraConfigError(
            f"environment {environment!r} is not in cdk.json context 'environments' "
            f"(known: {', '.join(environments)})"
        )
    try:
        return EnvironmentConfig.model_validate({"name": environment, **environments[environment]})
    except ValidationError as exc:
        raise InfraConfigError(_format(exc, environment)) from None


def check_runtime_config(config: EnvironmentConfig, config_dir: Path = c.RUNTIME_CONFIG_DIR) -> None:
    """Fail the synth when config/<env>.toml disagrees with what the deployment provides.

    The deployed code loads that file (VC_ENVIRONMENT selects it): its secret names must be the secrets
    this stack grants read access to, and every `${NAME}` placeholder in it must be an environment
    variable the stack sets (or AWS_REGION, which Lambda and this stack's containers both have).
    """
    path = config_dir / f"{config.name}.toml"
    if not path.exists():
        raise InfraConfigError(f"no runtime config {path} for environment {config.name!r}; create it")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InfraConfigError(f"{path}: not valid TOML ({exc})") from None
    problems = []
    for section, expected in (("source", config.secrets.source), ("target", config.secrets.target)):
        actual = data.get(section, {}).get("secret_name")
        if actual != expected:
            problems.append(
                f"[{section}] secret_name is {actual!r} in {path.name} but {expected!r} in cdk.json "
                f"(environments.{config.name}.secrets.{section})"
            )
    provided = set(config.deployed_environment()) | {c.ENV_REGION}
    missing = sorted(set(_PLACEHOLDER.findall(path.read_text())) - provided)
    if missing:
        problems.append(f"{path.name} uses ${{...}} placeholders the deployment does not set: {missing}")
    if problems:
        raise InfraConfigError("runtime config disagrees with the deployment:\n  " + "\n  ".join(problems))


def load_runtime_chunks(environment: str, config_dir: Path = c.RUNTIME_CONFIG_DIR) -> int:
    """The number of detect chunks of a scheduled run (config/<env>.toml `chunks`, default 4)."""
    path = config_dir / f"{environment}.toml"
    data = tomllib.loads(path.read_text()) if path.exists() else {}
    return int(data.get("chunks", 4))
