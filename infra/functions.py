"""The Lambda steps as container-image functions built from the pipeline's one image (`lambda` target),
plus the abnormal-end cleanup function and the operators' explain function.

One function per step of kind "lambda" in the step list; its image command is that step's handler in
`functions/`. Least privilege by role: the opening step (preflight) reads both secrets and may describe
this state machine's executions (to tell later whether the execution that owns a run still runs); the
closing steps read only the PostgreSQL secret, never Snowflake's; only the last closing step (report)
and the abnormal-end cleanup send email (D22). The cleanup function also describes executions: it
leaves a redriven, running execution to its own closing states. The explain function
(`visit-conflicts explain` for an operator, docs/explain.md) is not a step: nothing in the stack invokes
it; it reads both databases (both secrets) and is granted nothing else, no email, no executions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import constants as c
from infra.nag import acknowledge
from infra.network import PipelineNetwork
from infra.secrets import PipelineSecrets
from visit_conflicts.pipeline import Step, pipeline_shape

ABNORMAL_END = "cleanup"
ABNORMAL_END_TIMEOUT_SECONDS = 900  # restore + report in one invocation, each bounded far below
EXPLAIN = "explain"
# One visit's group: a few Snowflake queries (a suspended warehouse resumes first) and a few PostgreSQL
# reads. An operator waits for the answer (`aws lambda invoke` is synchronous), so fail within minutes.
EXPLAIN_TIMEOUT_SECONDS = 300


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
        state_machine_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        shape = pipeline_shape(steps)
        self._by_step: dict[str, lambda_.DockerImageFunction] = {}
        self._network = network
        self._environment = environment
        self._log_retention = log_retention
        stack = Stack.of(self)
        # Built from the fixed name, not the machine's ARN: the machine refers to these functions, so a
        # reference back would be a dependency cycle.
        executions = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        describe = iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[executions])
        send_email = iam.PolicyStatement(
            actions=["ses:SendEmail", "ses:SendRawEmail"],
            resources=[
                stack.format_arn(service="ses", resource="identity", resource_name=identity)
                for identity in (email_sender, email_sender_domain)
            ],
        )
        for step in steps:
            if step.kind != "lambda":
                continue
            if step.timeout_seconds > c.LAMBDA_MAX_TIMEOUT_SECONDS:
                raise ValueError(
                    f"step {step.name!r}: timeout_seconds={step.timeout_seconds} exceeds Lambda's "
                    f"{c.LAMBDA_MAX_TIMEOUT_SECONDS}s; make it a fargate step or shorten it"
                )
            function = self._function(
                step.name,
                c.LAMBDA_HANDLER_TEMPLATE.format(step=step.name),
                f"visit-conflicts {step.name}: {step.summary}",
                step.timeout_seconds,
            )
            secrets.grant_read_target(function)
            if step is shape.opening:
                secrets.grant_read_source(function)
                function.add_to_role_policy(describe)
                _acknowledge_describe(function, executions)
            if step is shape.closing[-1]:
                function.add_to_role_policy(send_email)
            self._by_step[step.name] = function
        self.abnormal_end = self._function(
            ABNORMAL_END,
            c.ABNORMAL_END_HANDLER,
            "visit-conflicts cleanup after an abnormal end: every closing step (restore, report)",
            ABNORMAL_END_TIMEOUT_SECONDS,
        )
        secrets.grant_read_target(self.abnormal_end)
        self.abnormal_end.add_to_role_policy(send_email)
        self.abnormal_end.add_to_role_policy(describe)
        _acknowledge_describe(self.abnormal_end, executions)
        self.explain = self._function(
            EXPLAIN,
            c.EXPLAIN_HANDLER,
            "visit-conflicts explain: why a visit or pair is (not) a conflict; read only, for operators",
            EXPLAIN_TIMEOUT_SECONDS,
        )
        # It reads the visits from Snowflake and the stored pairs and the ledger from PostgreSQL.
        secrets.grant_read(self.explain)

    def _function(
        self, name: str, handler: str, description: str, timeout: int
    ) -> lambda_.DockerImageFunction:
        function = lambda_.DockerImageFunction(
            self,
            _construct_id(name),
            description=description,
            code=lambda_.DockerImageCode.from_image_asset(
                str(c.REPO_ROOT),
                file=c.DOCKERFILE,
                target=c.LAMBDA_BUILD_TARGET,
                cmd=[handler],
                platform=ecr_assets.Platform.LINUX_AMD64,
            ),
            architecture=lambda_.Architecture.X86_64,
            memory_size=c.LAMBDA_MEMORY_MIB,
            timeout=Duration.seconds(timeout),
            environment=dict(self._environment),
            vpc=self._network.vpc,
            vpc_subnets=self._network.subnets,
            security_groups=[self._network.security_group],
            log_group=logs.LogGroup(self, f"{_construct_id(name)}Logs", retention=self._log_retention),
        )
        _acknowledge_lambda_findings(function)
        return function

    def function_for(self, step_name: str) -> lambda_.IFunction:
        return self._by_step[step_name]

    @property
    def by_step(self) -> Mapping[str, lambda_.IFunction]:
        return dict(self._by_step)

    @property
    def all_functions(self) -> list[lambda_.IFunction]:
        return [*self._by_step.values(), self.abnormal_end, self.explain]


def _construct_id(step_name: str) -> str:
    return "".join(part.capitalize() for part in step_name.replace("-", "_").split("_")) + "Function"


def _acknowledge_describe(function: lambda_.DockerImageFunction, executions: str) -> None:
    assert function.role is not None
    acknowledge(
        function.role,
        f"IAM5[Resource::{executions}]",
        "states:DescribeExecution of this pipeline's own executions: every execution name is a run id "
        "not known before it starts; the state machine name is fixed",
    )


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
