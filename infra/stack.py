"""The one stack of an environment: composes the constructs and applies cdk-nag (AwsSolutions).

Thin on purpose: each concern lives in its own construct; this module only wires them together from
the typed environment configuration and the step list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from infra import constants as c
from infra.abnormal_end import CleanupOnAbnormalEnd
from infra.alarms import PipelineAlarms
from infra.config import EnvironmentConfig
from infra.functions import PipelineFunctions
from infra.network import PipelineNetwork
from infra.schedule import PipelineSchedule
from infra.secrets import PipelineSecrets
from infra.state_machine import PipelineStateMachine
from infra.tasks import PipelineTasks
from visit_conflicts import pipeline
from visit_conflicts.pipeline import Step, pipeline_shape


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
        super().__init__(scope, construct_id, **kwargs)
        # Read at construction time (not import time) so that the list in pipeline.py is the only source.
        steps = tuple(pipeline.STEPS if steps is None else steps)
        shape = pipeline_shape(steps)
        retention = c.RETENTION_BY_DAYS[config.log_retention_days]
        environment = config.deployed_environment()

        network = PipelineNetwork(self, "Network", vpc_id=config.vpc_id, log_retention=retention)
        secrets = PipelineSecrets(
            self,
            "Secrets",
            source_secret_name=config.secrets.source,
            target_secret_name=config.secrets.target,
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
            steps=steps,
            functions=functions.by_step,
            fargate=fargate,
            max_chunk_concurrency=config.max_chunk_concurrency,
            execution_timeout=Duration.hours(config.execution_timeout_hours),
            log_retention=retention,
        )
        PipelineSchedule(
            self,
            "Schedule",
            state_machine=machine.state_machine,
            cron=config.schedule.cron,
            time_zone=config.schedule.time_zone,
            enabled=config.schedule.enabled,
        )
        CleanupOnAbnormalEnd(
            self,
            "CleanupOnAbnormalEnd",
            state_machine=machine.state_machine,
            cleanup_function=functions.function_for(shape.closing.name),
        )
        PipelineAlarms(self, "Alarms", state_machine=machine.state_machine, alarm_emails=config.alarm_emails)

        CfnOutput(self, "StateMachineArn", value=machine.state_machine.state_machine_arn)
        CfnOutput(
            self,
            "ComputeSecurityGroupId",
            value=network.security_group.security_group_id,
            description="admit this security group on the PostgreSQL database's port",
        )
        Validations.of(self).add_plugins(AwsSolutionsChecks(self))
