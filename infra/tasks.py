"""The Fargate side: the cluster, the task definition every Fargate step runs on, and the one-off
migration task.

The image is the pipeline's one image (`fargate` target, entrypoint `containers.entrypoint`, platform
linux/amd64); the state machine chooses the step with the command (`STEP [--chunk N]`) and passes the
run in VC_PAYLOAD. The step task's role reads both database secrets; the migration task (command
`migrate`, same image) has a role of its own that reads only the PostgreSQL secret. Nothing else may
start these tasks except the two state machines (they alone get ecs:RunTask and iam:PassRole).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_ecr_assets as ecr_assets
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
        image = ecs.ContainerImage.from_asset(
            str(c.REPO_ROOT),
            file=c.DOCKERFILE,
            target=c.FARGATE_BUILD_TARGET,
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
        logs_group = logs.LogGroup(self, "Logs", retention=log_retention)
        # Unlike Lambda, a container gets no AWS_REGION of its own; the runtime config uses it.
        container_environment = {**environment, c.ENV_REGION: region}
        self.task_definition, self.container = self._task(
            "TaskDefinition", cpu, memory_mib, image, container_environment, logs_group, "step"
        )
        secrets.grant_read(self.task_definition.task_role)
        # Migrations are DDL on the target schema: the smallest size does, and no Snowflake secret.
        self.migrate_task_definition, self.migrate_container = self._task(
            "MigrateTaskDefinition", 512, 1024, image, container_environment, logs_group, "migrate"
        )
        secrets.grant_read_target(self.migrate_task_definition.task_role)

    def _task(
        self,
        construct_id: str,
        cpu: int,
        memory_mib: int,
        image: ecs.ContainerImage,
        environment: Mapping[str, str],
        log_group: logs.ILogGroup,
        prefix: str,
    ) -> tuple[ecs.FargateTaskDefinition, ecs.ContainerDefinition]:
        task_definition = ecs.FargateTaskDefinition(
            self,
            construct_id,
            cpu=cpu,
            memory_limit_mib=memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        container = task_definition.add_container(
            c.CONTAINER_NAME,
            image=image,
            environment=dict(environment),
            logging=ecs.LogDriver.aws_logs(stream_prefix=prefix, log_group=log_group),
        )
        acknowledge(
            task_definition.obtain_execution_role(),
            "IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permissions; image pulls and log writes "
            "are scoped to this image's repository and this task's log group",
        )
        acknowledge(
            task_definition,
            "ECS2",
            "the container environment holds only the environment name, the report's email addresses "
            "and the region; credentials are read from Secrets Manager by name at run time",
        )
        return task_definition, container
