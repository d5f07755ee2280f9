"""The operators' explain Lambda in each environment's stack (docs/explain.md, docs/runbook.md "Explain a
conflict"): the shared Lambda image run with explain's handler, in the VPC on the compute's security
group (the database port, HTTPS out through the NAT to Snowflake), its own log group with the
environment's retention, read access to exactly the two secrets and nothing else, invoked by nothing in
the stack, its name a stack output.

The last test invokes the handler as the deployed function would: the image's command, the function's
environment variables, the secrets read from (moto's) Secrets Manager by the names the function may
read. Only the explanation itself is stubbed (it runs against databases in
tests/integration/test_explain.py)."""

from __future__ import annotations

import importlib
import json
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from infra import constants as c
from infra.functions import EXPLAIN_TIMEOUT_SECONDS
from tests.infra.support import Synthesised

VISIT = "281188a2-a373-43d2-9fd6-67e25274aa02"
SECRET_READ = {"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"}


def _image_functions(s: Synthesised) -> dict[str, dict[str, Any]]:
    return {
        k: v["Properties"]
        for k, v in s.resources("AWS::Lambda::Function").items()
        if v["Properties"].get("PackageType") == "Image"
    }


def _function_with_command(s: Synthesised, handler: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, p) for k, p in _image_functions(s).items() if p["ImageConfig"]["Command"] == [handler]]
    return found


def _explain(s: Synthesised) -> tuple[str, dict[str, Any]]:
    return _function_with_command(s, c.EXPLAIN_HANDLER)


def _statements_of(s: Synthesised, role: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in s.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_explain_runs_the_shared_lambda_image_with_its_own_handler(synthesised: Synthesised) -> None:
    """The image of the Lambda steps (target `lambda`, served by awslambdaric); only the command differs."""
    _, explain = _explain(synthesised)
    _, preflight = _function_with_command(synthesised, c.LAMBDA_HANDLER_TEMPLATE.format(step="preflight"))
    assert explain["Code"] == preflight["Code"]
    tag = explain["Code"]["ImageUri"]["Fn::Sub"].rsplit(":", 1)[1]
    assets = json.loads((synthesised.outdir / f"{synthesised.stack.stack_name}.assets.json").read_text())
    (image,) = [
        i
        for i in assets["dockerImages"].values()
        if any(d["imageTag"] == tag for d in i["destinations"].values())
    ]
    assert image["source"]["dockerBuildTarget"] == c.LAMBDA_BUILD_TARGET
    assert (explain["Timeout"], explain["MemorySize"]) == (EXPLAIN_TIMEOUT_SECONDS, c.LAMBDA_MEMORY_MIB)
    assert explain["Architectures"] == ["x86_64"]
    module, function = c.EXPLAIN_HANDLER.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), function))


def test_explain_is_in_the_vpc_on_the_compute_security_group(synthesised: Synthesised) -> None:
    """The compute's group reaches the database port and HTTPS (Snowflake through the NAT, AWS APIs)."""
    _, explain = _explain(synthesised)
    (group,) = synthesised.resources("AWS::EC2::SecurityGroup")
    assert explain["VpcConfig"] == {
        "SubnetIds": synthesised.config.network.private_subnet_ids,
        "SecurityGroupIds": [{"Fn::GetAtt": [group, "GroupId"]}],
    }


def test_explain_logs_to_its_own_group_with_the_environments_retention(synthesised: Synthesised) -> None:
    _, explain = _explain(synthesised)
    group = explain["LoggingConfig"]["LogGroup"]["Ref"]
    assert synthesised.template["Resources"][group]["Properties"] == {
        "RetentionInDays": synthesised.config.log_retention_days
    }
    others = [p["LoggingConfig"]["LogGroup"] for k, p in _image_functions(synthesised).items()]
    assert others.count({"Ref": group}) == 1


def test_explain_reads_exactly_both_secrets_and_may_do_nothing_else(synthesised: Synthesised) -> None:
    """Read only: the two secrets (and their customer-managed keys through Secrets Manager), Lambda's
    logging and VPC attachment; no email, no executions, nothing written."""
    _, explain = _explain(synthesised)
    role = explain["Role"]["Fn::GetAtt"][0]
    secrets = synthesised.config.secrets
    statements = _statements_of(synthesised, role)
    read = [s for s in statements if set(_as_list(s["Action"])) == SECRET_READ]
    names = {
        json.dumps(r).rsplit(":secret:", 1)[1].split("-??????")[0]
        for s in read
        for r in _as_list(s["Resource"])
    }
    assert names == {secrets.source, secrets.target}
    keys = {k for k in (secrets.source_kms_key_arn, secrets.target_kms_key_arn) if k}
    decrypt = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert {s["Resource"] for s in decrypt} == keys
    for statement in decrypt:
        assert statement["Condition"] == {
            "StringEquals": {"kms:ViaService": f"secretsmanager.{synthesised.config.region}.amazonaws.com"}
        }
    assert len(read) + len(decrypt) == len(statements)  # nothing else
    managed = json.dumps(synthesised.template["Resources"][role]["Properties"]["ManagedPolicyArns"])
    assert managed.count(":iam::aws:policy/") == 2
    assert "AWSLambdaBasicExecutionRole" in managed and "AWSLambdaVPCAccessExecutionRole" in managed


def test_nothing_in_the_stack_invokes_explain_and_its_name_is_an_output(synthesised: Synthesised) -> None:
    """Operators invoke it (`aws lambda invoke --function-name <ExplainFunctionName>`): no state, rule,
    schedule or permission refers to it."""
    logical_id, _ = _explain(synthesised)
    referring = [
        k
        for k, resource in synthesised.template["Resources"].items()
        if k != logical_id and f'"{logical_id}"' in json.dumps(resource)
    ]
    assert referring == []  # its own role, policy and log group are referred to by it, not the reverse
    outputs = synthesised.template["Outputs"]
    assert outputs["ExplainFunctionName"]["Value"] == {"Ref": logical_id}
    assert "docs/runbook.md" in outputs["ExplainFunctionName"]["Description"]


def test_the_deployed_function_explains_with_the_environments_config_and_secrets(
    synthesised: Synthesised, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The image's command resolves to the handler; with the function's environment variables (and those
    Lambda sets) the environment's config loads, and the handler reads the secrets it is granted from
    Secrets Manager: the PostgreSQL secret at once, the Snowflake secret when the explanation queries."""
    _, explain = _explain(synthesised)
    config = synthesised.config
    for name, value in {
        **explain["Environment"]["Variables"],
        "AWS_LAMBDA_FUNCTION_NAME": "explain",  # in AWS: the secrets come from Secrets Manager
        c.ENV_REGION: config.region,
        "AWS_DEFAULT_REGION": config.region,  # Lambda sets both
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    (command,) = explain["ImageConfig"]["Command"]
    module_name, function_name = command.rsplit(".", 1)
    module = importlib.import_module(module_name)
    seen: list[dict[str, Any]] = []

    def fake_explain(res: Any, params: Any, *, visit: Any = None, pair: Any = None) -> dict[str, Any]:
        seen.append({"res": res, "params": params, "visit": visit, "source": res.credentials_loader()})
        return {"pairs": [{"verdict": "NOT a conflict: stubbed"}]}

    monkeypatch.setattr(module, "explain", fake_explain)
    snowflake = {"account": "org-acct", "user": "CONFLICTS_PIPELINE", "private_key": "stub"}
    postgres = {"host": "db.internal", "port": 5432, "username": "pipeline", "password": "stub"}
    context = SimpleNamespace(
        function_name="explain",
        memory_limit_in_mb=explain["MemorySize"],
        invoked_function_arn=f"arn:aws:lambda:{config.region}:{config.account}:function:explain",
        aws_request_id="request",
    )
    parameters.clear_caches()  # Powertools caches secrets by name for the life of the process
    try:
        with mock_aws():
            client = boto3.client("secretsmanager", region_name=config.region)
            client.create_secret(Name=config.secrets.source, SecretString=json.dumps(snowflake))
            client.create_secret(Name=config.secrets.target, SecretString=json.dumps(postgres))
            out = getattr(module, function_name)({"visit": VISIT}, context)
    finally:
        parameters.clear_caches()
    assert out == {"pairs": [{"verdict": "NOT a conflict: stubbed"}]}
    (call,) = seen
    params = call["params"]
    assert (params.environment, call["visit"]) == (config.name, VISIT)
    assert (params.source.secret_name, params.target.secret_name) == (
        config.secrets.source,
        config.secrets.target,
    )
    assert call["source"] == snowflake
    assert "host=db.internal" in call["res"].pg_dsn and "sslmode=verify-full" in call["res"].pg_dsn
