"""The EventBridge Scheduler schedule that starts a run every night.

Each start is a new execution with a Scheduler-generated name, which becomes the run id (preflight
receives `$$.Execution.Name`). The input carries no overrides: a scheduled run uses the environment's
config file as is. A start that fails (throttling, a permission problem) is retried, then kept in an
encrypted dead-letter queue, on which an alarm fires (`infra.alarms`).
"""

from __future__ import annotations

from aws_cdk import Duration, TimeZone
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants as c
from infra.abnormal_end import dead_letter_queue


class PipelineSchedule(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.IStateMachine,
        cron: str,
        time_zone: str,
        enabled: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = dead_letter_queue(self, "DeadLetters")
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description="Start a visit-conflicts run",
            # A business-zone cron keeps the run at the same local hour across daylight-saving changes.
            schedule=scheduler.ScheduleExpression.expression(f"cron({cron})", TimeZone.of(time_zone)),
            target=targets.StepFunctionsStartExecution(
                state_machine,
                input=scheduler.ScheduleTargetInput.from_object(c.SCHEDULE_INPUT),
                retry_attempts=2,
                max_event_age=Duration.hours(2),
                dead_letter_queue=self.dead_letters,
            ),
            enabled=enabled,
        )
