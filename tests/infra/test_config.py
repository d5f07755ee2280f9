"""The typed per-environment configuration: cdk.json context is validated with messages that name the
key, and each environment's runtime config file agrees with what the deployment grants and sets."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from infra import constants as c
from infra.config import InfraConfigError, check_runtime_config, load_environment
from tests.infra.support import cdk_context


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
