"""The Fargate side: the cluster and the one task definition every Fargate step runs on.

The image is the pipeline's one image (`fargate` target, entrypoint `containers.entrypoint`); the state
machine chooses the step with the command (`STEP [--chunk N]`) and passes the run in VC_PAYLOAD. The
task role reads the two database secrets; nothing else may start these tasks except the state machine
(it alone gets ecs:RunTask and iam:PassRole, see `infra.state_machine`).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import constants as c
from infra.nag import acknowledge
from infra.network import PipelineNetwork
from infra.secrets import PipelineSecrets


class PipelineTasks(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: PipelineNetwork,
        secrets: PipelineSecrets,
        cpu: int,
        memory_mib: int,
        environment: Mapping[str, str],
        region: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.network = network
        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=network.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            cpu=cpu,
            memory_limit_mib=memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        self.container = self.task_definition.add_container(
            c.CONTAINER_NAME,
            image=ecs.ContainerImage.from_asset(
                str(c.REPO_ROOT), file=c.DOCKERFILE, target=c.FARGATE_BUILD_TARGET
            ),
            # Unlike Lambda, a container gets no AWS_REGION of its own; the runtime config uses it.
            environment={**environment, c.ENV_REGION: region},
            logging=ecs.LogDriver.aws_logs(
                stream_prefix="step", log_group=logs.LogGroup(self, "Logs", retention=log_retention)
            ),
        )
        secrets.grant_read(self.task_definition.task_role)
        execution_role = self.task_definition.obtain_execution_role()
        acknowledge(
            execution_role,
            "IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permissions; image pulls and log writes "
            "are scoped to this image's repository and this task's log group",
        )
        acknowledge(
            self.task_definition,
            "ECS2",
            "the container environment holds only the environment name, the report's email addresses "
            "and the region; credentials are read from Secrets Manager by name at run time",
        )
