"""Where the process runs: in AWS (a Lambda or an ECS task) or locally, and which environment's config it
uses. One statement of each, used by logging, secrets and the adapters."""

from __future__ import annotations

import os

ENV_ENVIRONMENT = "VC_ENVIRONMENT"


def running_in_aws() -> bool:
    """True inside a Lambda function or an ECS (Fargate) task, from the variables AWS sets there."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or os.environ.get("ECS_CONTAINER_METADATA_URI_V4"))


def environment_name() -> str:
    """The environment whose `config/<environment>.toml` applies (`local` unless the deployment says)."""
    return os.environ.get(ENV_ENVIRONMENT, "local")
