"""The typed per-environment configuration: cdk.json context (imported network, database, secrets,
sizes, schedule) is validated with messages that name the key, each environment's runtime config file
agrees with what the deployment grants and sets, and the execution timeout covers a run."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from infra import constants as c
from infra.config import InfraConfigError, check_runtime_config, load_environment, load_runtime_chunks
from infra.stack import check_execution_timeout
from tests.infra.support import cdk_context
from visit_conflicts.pipeline import STEPS


def _context(**changes: Any) -> dict[str, Any]:
    context = cdk_context()
    context["environments"]["dev"] = {**context["environments"]["dev"], **changes}
    return context


@pytest.mark.parametrize("environment", sorted(cdk_context()["environments"]))
def test_cdk_json_secret_names_match_the_runtime_config(environment: str) -> None:
    config = load_environment(cdk_context(), environment)
    runtime = tomllib.loads((c.RUNTIME_CONFIG_DIR / f"{environment}.toml").read_text())
    assert runtime["source"]["secret_name"] == config.secrets.source
    assert runtime["target"]["secret_name"] == config.secrets.target
    check_runtime_config(config)


def test_unknown_environment_names_the_known_ones() -> None:
    with pytest.raises(InfraConfigError, match=r"'staging' is not in .*known: dev, prod"):
        load_environment(cdk_context(), "staging")


def test_missing_environment_says_how_to_select_one() -> None:
    with pytest.raises(InfraConfigError, match="-c env="):
        load_environment(cdk_context(), None)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"fargate": {"cpu": 1024, "memory_mib": 1024}}, "environments.dev.fargate"),
        ({"log_retention_days": 10}, "environments.dev.log_retention_days"),
        ({"max_chunk_concurrency": 0}, "environments.dev.max_chunk_concurrency"),
        ({"schedule": {"cron": "0 5 * * *"}}, "environments.dev.schedule.cron"),
        ({"account": "12345"}, "environments.dev.account"),
        ({"surprise": True}, "environments.dev.surprise: unknown key"),
    ],
)
def test_invalid_context_is_rejected_naming_the_key(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(InfraConfigError, match=key):
        load_environment(_context(**changes), "dev")


def test_runtime_config_with_other_secret_names_fails_the_synth(tmp_path: Path) -> None:
    config = load_environment(cdk_context(), "dev")
    text = (c.RUNTIME_CONFIG_DIR / "dev.toml").read_text().replace(config.secrets.target, "someone/else")
    (tmp_path / "dev.toml").write_text(text)
    with pytest.raises(InfraConfigError, match=r"\[target\] secret_name is 'someone/else'"):
        check_runtime_config(config, tmp_path)


def test_runtime_config_placeholders_must_be_set_by_the_deployment(tmp_path: Path) -> None:
    config = load_environment(cdk_context(), "dev")
    text = (c.RUNTIME_CONFIG_DIR / "dev.toml").read_text() + '\n[extra]\ntoken = "${API_TOKEN}"\n'
    (tmp_path / "dev.toml").write_text(text)
    with pytest.raises(InfraConfigError, match="API_TOKEN"):
        check_runtime_config(config, tmp_path)


def _network(**changes: Any) -> dict[str, Any]:
    return {**cdk_context()["environments"]["dev"]["network"], **changes}


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"network": _network(vpc_id=None)}, r"environments\.dev\.network\.vpc_id"),
        (
            {"network": _network(private_subnet_ids=["subnet-0a1b2c3d4e5f60701"])},
            r"environments\.dev\.network: .*one entry per subnet",
        ),
        ({"network": _network(private_subnet_ids=["sub-1", "sub-2"])}, r"network\.private_subnet_ids"),
        ({"network": _network(nat_gateway_ids=["igw-0a1b2c3d"])}, r"network\.nat_gateway_ids"),
        ({"database": {"security_group_id": "default"}}, r"environments\.dev\.database\.security_group_id"),
        (
            {"secrets": {"source": "a", "target": "b", "target_kms_key_arn": "alias/aws/secretsmanager"}},
            r"environments\.dev\.secrets\.target_kms_key_arn",
        ),
        (
            {"email": {"sender": "nobody", "recipients": ["a@example.com"]}},
            r"environments\.dev\.email\.sender",
        ),
    ],
    ids=["no-vpc", "subnets-vs-zones", "subnet-id", "nat-id", "database-group", "kms-key", "sender"],
)
def test_invalid_network_database_secrets_and_email_are_rejected_naming_the_key(
    changes: dict[str, Any], key: str
) -> None:
    """Every environment imports its VPC and names the database's security group (no lookup at synth
    time); a customer-managed key is named by its ARN (kms:Decrypt is granted on exactly that key)."""
    with pytest.raises(InfraConfigError, match=key):
        load_environment(_context(**changes), "dev")


def test_an_execution_timeout_shorter_than_one_run_at_its_step_timeouts_fails_the_synth() -> None:
    """The execution timeout covers every step at its timeout once, with this environment's chunk waves
    (config/<env>.toml chunks over max_chunk_concurrency)."""
    config = load_environment(cdk_context(), "dev")
    chunks = load_runtime_chunks("dev")
    waves = -(-chunks // config.max_chunk_concurrency)
    once = sum(s.timeout_seconds * (waves if s.map_over_chunks else 1) for s in STEPS)
    check_execution_timeout(STEPS, config)  # the committed value is enough
    assert config.execution_timeout_hours * 3600 >= once
    short = config.model_copy(update={"execution_timeout_hours": (once - 1) // 3600})
    with pytest.raises(InfraConfigError, match=r"environments\.dev\.execution_timeout_hours=\d+ is shorter"):
        check_execution_timeout(STEPS, short)
