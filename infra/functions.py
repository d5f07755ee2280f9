"""The Lambda steps as container-image functions built from the pipeline's one image (`lambda` target).

One function per step of kind "lambda" in the step list; its image command is that step's handler in
`functions/`. Each reads both database secrets (by name, from the runtime config); only the step that
always runs (cleanup + report) may send email through SES (D22).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import constants as c
from infra.nag import acknowledge
from infra.network import PipelineNetwork
from infra.secrets import PipelineSecrets
from visit_conflicts.pipeline import Step


class PipelineFunctions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        steps: Sequence[Step],
        environment: Mapping[str, str],
        network: PipelineNetwork,
        secrets: PipelineSecrets,
        log_retention: logs.RetentionDays,
        email_sender: str,
        email_sender_domain: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._by_step: dict[str, lambda_.DockerImageFunction] = {}
        for step in steps:
            if step.kind != "lambda":
                continue
            if step.timeout_seconds > c.LAMBDA_MAX_TIMEOUT_SECONDS:
                raise ValueError(
                    f"step {step.name!r}: timeout_seconds={step.timeout_seconds} exceeds Lambda's "
                    f"{c.LAMBDA_MAX_TIMEOUT_SECONDS}s; make it a fargate step or shorten it"
                )
            function = lambda_.DockerImageFunction(
                self,
                _construct_id(step.name),
                description=f"visit-conflicts {step.name}: {step.summary}",
                code=lambda_.DockerImageCode.from_image_asset(
                    str(c.REPO_ROOT),
                    file=c.DOCKERFILE,
                    target=c.LAMBDA_BUILD_TARGET,
                    cmd=[c.LAMBDA_HANDLER_TEMPLATE.format(step=step.name)],
                ),
                architecture=lambda_.Architecture.X86_64,
                memory_size=c.LAMBDA_MEMORY_MIB,
                timeout=Duration.seconds(step.timeout_seconds),
                environment=dict(environment),
                vpc=network.vpc,
                vpc_subnets=network.subnets,
                security_groups=[network.security_group],
                log_group=logs.LogGroup(self, f"{_construct_id(step.name)}Logs", retention=log_retention),
            )
            secrets.grant_read(function)
            if step.always_runs:
                function.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=["ses:SendEmail", "ses:SendRawEmail"],
                        resources=[
                            Stack.of(self).format_arn(
                                service="ses", resource="identity", resource_name=identity
                            )
                            for identity in (email_sender, email_sender_domain)
                        ],
                    )
                )
            _acknowledge_lambda_findings(function)
            self._by_step[step.name] = function

    def function_for(self, step_name: str) -> lambda_.IFunction:
        return self._by_step[step_name]

    @property
    def by_step(self) -> Mapping[str, lambda_.IFunction]:
        return dict(self._by_step)


def _construct_id(step_name: str) -> str:
    return "".join(part.capitalize() for part in step_name.replace("-", "_").split("_")) + "Function"


def _acknowledge_lambda_findings(function: lambda_.DockerImageFunction) -> None:
    role = function.role
    assert role is not None
    for policy in ("AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole"):
        acknowledge(
            role,
            f"IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{policy}]",
            f"{policy} is AWS's minimal policy for a Lambda that writes logs and attaches to a VPC "
            "(its network-interface actions cannot be scoped to resources)",
        )
