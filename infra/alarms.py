"""CloudWatch alarms of the pipeline, all notifying one encrypted SNS topic (with optional email
subscriptions). docs/runbook.md says what each one means and what to do.

- a run failed, timed out or was stopped (state machine metrics);
- no successful run in 26 hours (only where the schedule is enabled: a nightly run plus slack);
- the abnormal-end cleanup Lambda failed (its Errors metric), or its events ended in the dead-letter
  queue (pg_cron may still be off, the lock still held);
- the schedule could not start a run (its dead-letter queue).

The run report email (D22) says what went wrong; the alarms make sure someone looks, also when the
report could not be sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants as c

_AT_LEAST_ONE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD


class PipelineAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        cleanup_function: lambda_.IFunction,
        dead_letter_queues: dict[str, sqs.IQueue],
        expect_nightly_success: bool,
        alarm_emails: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        key = kms.Key(self, "TopicKey", enable_key_rotation=True, description="visit-conflicts alarm topic")
        # CloudWatch publishes to an encrypted topic only if it may use the topic's key.
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        self.topic = sns.Topic(
            self, "Topic", display_name="visit-conflicts alarms", master_key=key, enforce_ssl=True
        )
        for address in alarm_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))
        period = Duration.minutes(c.ALARM_PERIOD_MINUTES)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for name, metric, what in (
            ("ExecutionsFailed", state_machine.metric_failed(period=period), "a run failed"),
            ("ExecutionsTimedOut", state_machine.metric_timed_out(period=period), "a run timed out"),
            ("ExecutionsAborted", state_machine.metric_aborted(period=period), "a run was stopped"),
            (
                "CleanupFailed",
                cleanup_function.metric_errors(period=period),
                "the abnormal-end cleanup Lambda failed (pg_cron may still be off)",
            ),
        ):
            self._alarm(name, metric.with_(statistic=cloudwatch.Stats.SUM), what)
        for name, queue in dead_letter_queues.items():
            self._alarm(
                f"{name}DeadLetters",
                queue.metric_approximate_number_of_messages_visible(period=period),
                f"{name}: an event could not be delivered and waits in the dead-letter queue",
            )
        if expect_nightly_success:
            hour = Duration.hours(1)
            alarm = cloudwatch.Alarm(
                self,
                "NoSuccessfulRun",
                alarm_description=(
                    f"visit-conflicts: no successful run in {c.NO_SUCCESS_HOURS} h; see docs/runbook.md"
                ),
                metric=state_machine.metric_succeeded(period=hour).with_(statistic=cloudwatch.Stats.SUM),
                threshold=1,
                evaluation_periods=c.NO_SUCCESS_HOURS,
                datapoints_to_alarm=c.NO_SUCCESS_HOURS,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                # No execution succeeded in an hour = no data point: that counts against the run.
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            )
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
            self.alarms["NoSuccessfulRun"] = alarm

    def _alarm(self, name: str, metric: cloudwatch.IMetric, what: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            alarm_description=f"visit-conflicts: {what}; see docs/runbook.md",
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=_AT_LEAST_ONE,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
        self.alarms[name] = alarm
