"""The one stack of an environment: composes the constructs and applies cdk-nag (AwsSolutions).

Thin on purpose: each concern lives in its own construct; this module only wires them together from
the typed environment configuration and the step list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput, DefaultStackSynthesizer, Duration, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from infra import constants as c
from infra.abnormal_end import CleanupOnAbnormalEnd
from infra.alarms import PipelineAlarms
from infra.config import EnvironmentConfig, InfraConfigError, load_runtime_chunks
from infra.dashboard import PipelineDashboard
from infra.functions import PipelineFunctions
from infra.images import ImageLifecycle
from infra.migrate import MigrateStateMachine
from infra.nag import acknowledge
from infra.network import PipelineNetwork
from infra.schedule import PipelineSchedule
from infra.secrets import PipelineSecrets
from infra.state_machine import PipelineStateMachine
from infra.tasks import PipelineTasks
from visit_conflicts import pipeline
from visit_conflicts.pipeline import Step


class PipelineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        steps: Sequence[Step] | None = None,
        **kwargs: Any,
    ) -> None:
        # The images get this app's tag prefix, so the ECR lifecycle rule can keep only the newest.
        kwargs.setdefault("synthesizer", DefaultStackSynthesizer(docker_tag_prefix=c.DOCKER_TAG_PREFIX))
        super().__init__(scope, construct_id, **kwargs)
        # Read at construction time (not import time) so that the list in pipeline.py is the only source.
        steps = tuple(pipeline.STEPS if steps is None else steps)
        check_execution_timeout(steps, config)
        retention = c.RETENTION_BY_DAYS[config.log_retention_days]
        environment = config.deployed_environment()

        network = PipelineNetwork(self, "Network", network=config.network, database=config.database)
        secrets = PipelineSecrets(
            self,
            "Secrets",
            source_secret_name=config.secrets.source,
            target_secret_name=config.secrets.target,
            source_kms_key_arn=config.secrets.source_kms_key_arn,
            target_kms_key_arn=config.secrets.target_kms_key_arn,
        )
        functions = PipelineFunctions(
            self,
            "Functions",
            steps=steps,
            environment=environment,
            network=network,
            secrets=secrets,
            log_retention=retention,
            email_sender=config.email.sender,
            email_sender_domain=config.email.sender_domain,
            state_machine_name=config.state_machine_name,
        )
        fargate = PipelineTasks(
            self,
            "Tasks",
            network=network,
            secrets=secrets,
            cpu=config.fargate.cpu,
            memory_mib=config.fargate.memory_mib,
            environment=environment,
            region=config.region,
            log_retention=retention,
        )
        machine = PipelineStateMachine(
            self,
            "Pipeline",
            state_machine_name=config.state_machine_name,
            log_group_name=c.STATE_MACHINE_LOG_GROUP_TEMPLATE.format(environment=config.name),
            steps=steps,
            functions=functions.by_step,
            fargate=fargate,
            max_chunk_concurrency=config.max_chunk_concurrency,
            execution_timeout=Duration.hours(config.execution_timeout_hours),
            log_retention=retention,
        )
        migrate = MigrateStateMachine(
            self,
            "Migrate",
            state_machine_name=c.MIGRATE_STATE_MACHINE_NAME_TEMPLATE.format(environment=config.name),
            log_group_name=c.STATE_MACHINE_LOG_GROUP_TEMPLATE.format(environment=config.name) + "-migrate",
            fargate=fargate,
            log_retention=retention,
        )
        schedule = PipelineSchedule(
            self,
            "Schedule",
            state_machine=machine.state_machine,
            cron=config.schedule.cron,
            time_zone=config.schedule.time_zone,
            enabled=config.schedule.enabled,
        )
        abnormal_end = CleanupOnAbnormalEnd(
            self,
            "CleanupOnAbnormalEnd",
            state_machine=machine.state_machine,
            cleanup_function=functions.abnormal_end,
        )
        PipelineAlarms(
            self,
            "Alarms",
            state_machine=machine.state_machine,
            cleanup_function=functions.abnormal_end,
            dead_letter_queues={"Cleanup": abnormal_end.dead_letters, "Schedule": schedule.dead_letters},
            expect_nightly_success=config.schedule.enabled,
            alarm_emails=config.alarm_emails,
        )
        PipelineDashboard(
            self,
            "Dashboard",
            dashboard_name=config.state_machine_name,
            steps=steps,
            state_machine=machine.state_machine,
        )
        ImageLifecycle(self, "Images", repository_name=self.synthesizer_repository_name())

        CfnOutput(self, "StateMachineArn", value=machine.state_machine.state_machine_arn)
        CfnOutput(self, "MigrateStateMachineArn", value=migrate.state_machine.state_machine_arn)
        CfnOutput(
            self,
            "ComputeSecurityGroupId",
            value=network.security_group.security_group_id,
            description="the security group of the pipeline's compute (admitted on the database port)",
        )
        # What an operator's one-off task needs (`aws ecs run-task`, docs/runbook.md: the source check).
        CfnOutput(self, "ClusterName", value=fargate.cluster.cluster_name)
        CfnOutput(
            self,
            "StepTaskDefinitionArn",
            value=fargate.task_definition.task_definition_arn,
            description="the Fargate steps' task definition; command `cli ...` runs a one-off CLI command",
        )
        CfnOutput(self, "PrivateSubnetIds", value=",".join(config.network.private_subnet_ids))
        CfnOutput(
            self,
            "CleanupFunctionName",
            value=functions.abnormal_end.function_name,
            description="the abnormal-end cleanup: invoke it by hand to close a run (docs/runbook.md)",
        )
        CfnOutput(
            self,
            "ExplainFunctionName",
            value=functions.explain.function_name,
            description="visit-conflicts explain for operators: invoke it with a visit or a pair "
            "(docs/runbook.md, docs/explain.md)",
        )
        _acknowledge_custom_resource_provider(self)
        Validations.of(self).add_plugins(AwsSolutionsChecks(self))

    def synthesizer_repository_name(self) -> str:
        """The bootstrap's image asset repository of this stack's account and region."""
        return (
            DefaultStackSynthesizer.DEFAULT_IMAGE_ASSETS_REPOSITORY_NAME.replace(
                "${Qualifier}", DefaultStackSynthesizer.DEFAULT_QUALIFIER
            )
            .replace("${AWS::AccountId}", self.account)
            .replace("${AWS::Region}", self.region)
        )


def worst_case_seconds(steps: Sequence[Step], max_chunk_concurrency: int, chunks: int) -> float:
    """The longest a run can take: every step selected, every call at its worst (all attempts to the
    timeout, longest retry waits), the mapped step in ceil(chunks / concurrency) waves."""
    total = 0.0
    for step in steps:
        waves = -(-chunks // max_chunk_concurrency) if step.map_over_chunks else 1
        total += waves * step.worst_case_seconds()
    return total


def check_execution_timeout(steps: Sequence[Step], config: EnvironmentConfig) -> None:
    """The execution timeout must leave room for the slowest plausible run: every step at its timeout
    once (no retries), the chunk waves of this environment's runtime config. Retries beyond that end in
    TIMED_OUT, and the abnormal-end cleanup closes the run."""
    chunks = load_runtime_chunks(config.name)
    once = sum(
        (-(-chunks // config.max_chunk_concurrency) if s.map_over_chunks else 1) * s.timeout_seconds
        for s in steps
    )
    if config.execution_timeout_hours * 3600 < once:
        raise InfraConfigError(
            f"environments.{config.name}.execution_timeout_hours={config.execution_timeout_hours} is "
            f"shorter than one run with every step at its timeout ({once / 3600:.1f} h for {chunks} "
            f"chunks at concurrency {config.max_chunk_concurrency}); raise it"
        )


def _acknowledge_custom_resource_provider(stack: Stack) -> None:
    """The singleton Lambda behind AwsCustomResource (NAT IP lookup, ECR lifecycle): CDK's own code."""
    for child in stack.node.children:
        if child.node.id.startswith("AWS679f53fac002430cb0da5b7982bd2287"):
            acknowledge(
                child,
                "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                "CDK's AwsCustomResource provider only writes its logs; AWS's minimal policy for that",
            )
