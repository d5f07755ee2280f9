"""Cleanup for executions that end outside the state machine's catch path (D19).

Timeouts of the whole execution, aborts (a stop from the console or the API) and failures that no
catch handled (a cleanup that failed itself, a runtime error of the state machine) end the execution
without running cleanup. Step Functions publishes the execution's status change to EventBridge; these
rules invoke the cleanup Lambda with the run id (= execution name) and the matching outcome. Executions
that end in the state machine's own Fail states already ran cleanup and are left out by error name.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants as c

_DETAIL_TYPE = "Step Functions Execution Status Change"


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
            description="visit-conflicts: run cleanup for executions stopped by hand",
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
                            "outcome": outcome,
                            "error": {
                                "Error": events.EventField.from_path("$.detail.status"),
                                "Cause": "the execution ended outside the state machine's catch path",
                            },
                        }
                    ),
                    retry_attempts=2,
                    max_event_age=Duration.hours(2),
                )
            )
