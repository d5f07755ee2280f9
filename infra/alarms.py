"""CloudWatch alarms on the state machine: any failed, timed-out or aborted execution.

Alarms notify an SNS topic (encrypted with its own key, which CloudWatch may use) with optional email
subscriptions. The run report email (D22) says what went wrong; the alarm makes sure someone looks,
also when the report could not be sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants as c


class PipelineAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
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
        metrics = {
            "ExecutionsFailed": (state_machine.metric_failed(period=period), "a run failed"),
            "ExecutionsTimedOut": (state_machine.metric_timed_out(period=period), "a run timed out"),
            "ExecutionsAborted": (state_machine.metric_aborted(period=period), "a run was stopped"),
        }
        self.alarms: list[cloudwatch.Alarm] = []
        for name, (metric, what) in metrics.items():
            alarm = cloudwatch.Alarm(
                self,
                name,
                alarm_description=f"visit-conflicts: {what}; see the run report and the execution",
                metric=metric.with_(statistic=cloudwatch.Stats.SUM),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
            self.alarms.append(alarm)
