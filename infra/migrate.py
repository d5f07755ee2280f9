"""The one-off migration of the target schema in AWS: a small state machine that runs the pipeline's
image as `migrate` (`visit-conflicts db migrate` against the environment's database) in the VPC, on a
task definition whose role reads only the PostgreSQL secret.

Start it before deploying code that ships a new migration (preflight refuses a schema behind the code):
`aws stepfunctions start-execution --state-machine-arn <MigrateStateMachineArn output> --input '{}'`,
or with `{"params": {"target": {"schema": "..."}}}` for another schema. docs/runbook.md has the steps.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as sfn_tasks
from constructs import Construct

from infra import constants as c
from infra.nag import acknowledge
from infra.tasks import PipelineTasks

MIGRATE_TIMEOUT = Duration.hours(2)  # index builds on ~9M-row tables


class MigrateStateMachine(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine_name: str,
        log_group_name: str,
        fargate: PipelineTasks,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        task = sfn_tasks.EcsRunTask(
            self,
            "Migrate",
            state_name=c.MIGRATE_COMMAND,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            cluster=fargate.cluster,
            task_definition=fargate.migrate_task_definition,
            launch_target=sfn_tasks.EcsFargateLaunchTarget(
                platform_version=ecs.FargatePlatformVersion.LATEST
            ),
            container_overrides=[
                sfn_tasks.ContainerOverride(
                    container_definition=fargate.migrate_container,
                    command=[c.MIGRATE_COMMAND],
                    environment=[
                        sfn_tasks.TaskEnvironmentVariable(
                            name=c.ENV_PAYLOAD,
                            value=sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$$.Execution.Input")),
                        )
                    ],
                )
            ],
            subnets=fargate.network.subnets,
            security_groups=[fargate.network.security_group],
            assign_public_ip=False,
            result_path=sfn.JsonPath.DISCARD,
            task_timeout=sfn.Timeout.duration(MIGRATE_TIMEOUT),
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=state_machine_name,
            definition_body=sfn.DefinitionBody.from_chainable(task),
            timeout=MIGRATE_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=logs.LogGroup(
                    self, "Logs", log_group_name=log_group_name, retention=log_retention
                ),
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),
        )
        acknowledge(
            self.state_machine.role,
            "IAM5[Resource::*]",
            "X-Ray tracing, log delivery and ecs:StopTask/DescribeTasks of .sync tasks have no "
            "resource-level permissions; CDK grants only the actions the integration needs",
        )
