"""Cleanup for executions that end outside the state machine's closing states (D19).

Timeouts of the whole execution, aborts (a stop from the console or the API) and failures that no
catch handled (a closing step that kept failing, a runtime error of the state machine) end the
execution without the closing states. Step Functions publishes the execution's status change to
EventBridge; these rules invoke the abnormal-end cleanup Lambda with the run id (= execution name), the
execution ARN, the execution input (which locates the run's schema; the run's other parameters come
from the ledger) and the matching outcome. Executions that end in the state machine's own Fail state
already ran the closing states and are left out by error name.

Nothing of a failed cleanup is lost: EventBridge invokes the Lambda asynchronously, so an event it could
not deliver (throttling, permissions) goes to the rule target's dead-letter queue after EventBridge's
retries, and an invocation that failed in the function goes, after Lambda's own retries, to the same
queue as an on-failure record whose `requestPayload` is the cleanup's input (docs/runbook.md says how
to replay it). Both retry twice within two hours. An alarm fires on the queue and on the function's
errors (`infra.alarms`): pg_cron may still be off.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as lambda_destinations
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants as c
from infra.nag import acknowledge

_DETAIL_TYPE = "Step Functions Execution Status Change"
# Retries of a delivery (EventBridge) and of a failed invocation (Lambda): a database that is briefly
# unreachable gets two more chances within two hours.
_RETRIES = 2
_MAX_EVENT_AGE = Duration.hours(2)


def dead_letter_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    """An encrypted, TLS-only queue that keeps failed deliveries for 14 days."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge(queue, "SQS3", "this queue is itself a dead-letter queue; an alarm watches its depth")
    return queue


class CleanupOnAbnormalEnd(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.IStateMachine,
        cleanup_function: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self.cleanup_function = cleanup_function
        self.dead_letters = dead_letter_queue(self, "DeadLetters")
        cleanup_function.configure_async_invoke(
            retry_attempts=_RETRIES,
            max_event_age=_MAX_EVENT_AGE,
            on_failure=lambda_destinations.SqsDestination(self.dead_letters),
        )
        machine = [state_machine.state_machine_arn]
        self.failed_rule = events.Rule(
            self,
            "FailedOrTimedOut",
            description="visit-conflicts: cleanup for executions that failed or timed out outside the catch",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=[_DETAIL_TYPE],
                detail={
                    "stateMachineArn": machine,
                    "$or": [
                        {"status": ["TIMED_OUT"]},
                        {"status": ["FAILED"], "error": [{"anything-but": list(c.OWN_FAIL_ERRORS)}]},
                    ],
                },
            ),
        )
        self.aborted_rule = events.Rule(
            self,
            "Aborted",
            description="visit-conflicts: cleanup for executions stopped by hand",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=[_DETAIL_TYPE],
                detail={"stateMachineArn": machine, "status": ["ABORTED"]},
            ),
        )
        for rule, outcome in ((self.failed_rule, c.OUTCOME_FAILED), (self.aborted_rule, c.OUTCOME_CANCELLED)):
            rule.add_target(
                events_targets.LambdaFunction(
                    cleanup_function,
                    event=events.RuleTargetInput.from_object(
                        {
                            "run_id": events.EventField.from_path("$.detail.name"),
                            "execution_arn": events.EventField.from_path("$.detail.executionArn"),
                            # The execution input, as text: it names the run's schema override.
                            "input": events.EventField.from_path("$.detail.input"),
                            "outcome": outcome,
                            "error": {
                                "Error": events.EventField.from_path("$.detail.status"),
                                "Cause": "the execution ended outside the state machine's closing states",
                            },
                        }
                    ),
                    retry_attempts=_RETRIES,
                    max_event_age=_MAX_EVENT_AGE,
                    dead_letter_queue=self.dead_letters,
                )
            )
