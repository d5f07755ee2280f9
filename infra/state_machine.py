"""The Step Functions state machine, built by walking the step list (`visit_conflicts.pipeline.STEPS`).

Shape (JSONPath query language):

    Input has params? -> [Default params] -> <first step, Lambda: preflight>       result at $.run
    for each work step, in STEPS order:
        Select <step> (Pass: States.ArrayContains($.run.steps, '<step>')) -> Run <step>? (Choice)
            selected:     <step>  (Lambda task | ECS RunTask .sync | Map over $.run.chunks of either)
            not selected: the next step's Select state
    <always-runs step, Lambda: cleanup> outcome "succeeded" -> Run succeeded? -> Done | Run not succeeded
    any step's catch (States.ALL, error at $.error) -> <cleanup> after failure -> Step failed

The first choice rule of every Choice state is the path of a run in which every step is selected and
succeeds; `visited_steps` relies on that. Step states carry their step's name, retry policy and
timeout. The payload holds ids, the run context, parameter overrides and the chunk list, never
credentials or bulk results (those go through the run ledger, D20).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import CfnElement, Duration, Stack, Token
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as sfn_tasks
from constructs import Construct

from infra import constants as c
from infra.nag import acknowledge
from infra.tasks import PipelineTasks
from visit_conflicts.pipeline import Step, pipeline_shape


def visited_steps(definition: Mapping[str, Any]) -> list[str]:
    """Names of the step states, in the order a run visits them when every step is selected and succeeds.

    Walks the ASL from StartAt along Next, taking the first rule of each Choice; Task and Map states
    are steps (a Map's iterations are its step, not separate ones). Pure: only the definition is read.
    """
    states: Mapping[str, Any] = definition["States"]
    name: str | None = definition["StartAt"]
    order: list[str] = []
    seen: set[str] = set()
    while name is not None:
        if name in seen:
            raise ValueError(f"the definition loops back to state {name!r}")
        seen.add(name)
        state = states[name]
        kind = state["Type"]
        if kind in ("Task", "Map"):
            order.append(name)
        if kind == "Choice":
            name = state["Choices"][0]["Next"]
        elif kind in ("Succeed", "Fail") or state.get("End"):
            name = None
        else:
            name = state["Next"]
    return order


class PipelineStateMachine(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        steps: Sequence[Step],
        functions: Mapping[str, lambda_.IFunction],
        fargate: PipelineTasks,
        max_chunk_concurrency: int,
        execution_timeout: Duration,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self._shape = pipeline_shape(steps)
        self._functions = functions
        self._fargate = fargate
        self._max_chunk_concurrency = max_chunk_concurrency

        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(self._definition()),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=execution_timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=logs.LogGroup(self, "Logs", retention=log_retention),
                level=sfn.LogLevel.ALL,
                # The payload holds ids, the run context and parameter overrides only: safe to log.
                include_execution_data=True,
            ),
        )
        self._acknowledge_findings()

    # -- definition -----------------------------------------------------------------------------

    def _definition(self) -> sfn.IChainable:
        shape = self._shape
        failure = self._cleanup(failed=True).next(
            sfn.Fail(
                self,
                "StepFailed",
                state_name=c.STATE_FAIL_STEP,
                error=c.ERROR_STEP_FAILED,
                # A fixed cause: a path into the caught error would fail the state (States.Runtime)
                # for errors without a Cause. The step's error is in the run report and the history.
                cause="a step failed and cleanup ran; see the run report and the execution history",
            )
        )
        succeeded = sfn.Choice(self, "RunSucceeded", state_name=c.STATE_RUN_SUCCEEDED)
        succeeded.when(
            sfn.Condition.string_equals(f"{c.CLEANUP_RESULT}.status", c.OUTCOME_SUCCEEDED),
            sfn.Succeed(self, "Done", state_name=c.STATE_SUCCEED),
        )
        succeeded.otherwise(
            sfn.Fail(
                self,
                "RunNotSucceeded",
                state_name=c.STATE_FAIL_RUN,
                error=c.ERROR_RUN_NOT_SUCCEEDED,
                cause="cleanup finished but the run's report status is not 'succeeded'; see the report",
            )
        )
        # Built back to front: each work step's "skip" edge leads to the next step's selection.
        next_state: sfn.IChainable = self._cleanup(failed=False).next(succeeded)
        for step in reversed(shape.work):
            next_state = self._optional(step, next_state, failure)

        opening = self._opening(failure)
        opening.next(next_state)
        start = sfn.Choice(self, "HasParams", state_name=c.STATE_HAS_PARAMS)
        start.when(sfn.Condition.is_present(c.INPUT_PARAMS), opening)
        # An execution input without "params" (e.g. `{}` from the console) means: no overrides.
        start.otherwise(
            sfn.Pass(
                self,
                "DefaultParams",
                state_name=c.STATE_DEFAULT_PARAMS,
                result=sfn.Result.from_object({}),
                result_path=c.INPUT_PARAMS,
            ).next(opening)
        )
        return start

    def _opening(self, failure: sfn.IChainable) -> sfn_tasks.LambdaInvoke:
        step = self._shape.opening
        state = sfn_tasks.LambdaInvoke(
            self,
            _id(step.name),
            state_name=step.name,
            lambda_function=self._functions[step.name],
            payload=sfn.TaskInput.from_object(
                # The execution name is the run id (D1), so the console, the ledger and the logs agree.
                {"run_id": sfn.JsonPath.execution_name, "params": sfn.JsonPath.object_at(c.INPUT_PARAMS)}
            ),
            result_selector={
                "payload": {
                    "run_id": sfn.JsonPath.string_at("$.Payload.run_id"),
                    "context": sfn.JsonPath.object_at("$.Payload.context"),
                    "params": sfn.JsonPath.object_at("$.Payload.params"),
                },
                "chunks": sfn.JsonPath.list_at("$.Payload.chunks"),
                "steps": sfn.JsonPath.list_at("$.Payload.steps"),
                "preflight": sfn.JsonPath.object_at("$.Payload.preflight"),
            },
            result_path=c.RUN,
            task_timeout=_timeout(step),
        )
        _retry(state, step)
        state.add_catch(failure, errors=[sfn.Errors.ALL], result_path=c.ERROR)
        return state

    def _optional(self, step: Step, next_state: sfn.IChainable, failure: sfn.IChainable) -> sfn.IChainable:
        """Select <step> -> Run <step>? -> <step> | (skip) next_state."""
        work = self._work(step)
        work.add_catch(failure, errors=[sfn.Errors.ALL], result_path=c.ERROR)
        work.next(next_state)
        run = sfn.Choice(self, f"{_id(step.name)}Run", state_name=c.STATE_RUN_TEMPLATE.format(step=step.name))
        run.when(sfn.Condition.boolean_equals(f"{c.SELECTION}.selected", True), work)
        run.otherwise(next_state)
        select = sfn.Pass(
            self,
            f"{_id(step.name)}Select",
            state_name=c.STATE_SELECT_TEMPLATE.format(step=step.name),
            parameters={
                "selected": sfn.JsonPath.array_contains(sfn.JsonPath.list_at(c.RUN_STEPS), step.name)
            },
            result_path=c.SELECTION,
        )
        return select.next(run)

    def _work(self, step: Step) -> sfn.TaskStateBase | sfn.Map:
        if not step.map_over_chunks:
            state = self._task(step, state_name=step.name, chunked=False)
            _retry(state, step)
            return state
        chunk = self._task(step, state_name=step.name + c.STATE_CHUNK_SUFFIX, chunked=True)
        _retry(chunk, step)
        mapped = sfn.Map(
            self,
            _id(step.name),
            state_name=step.name,
            items_path=c.RUN_CHUNKS,
            max_concurrency=self._max_chunk_concurrency,
            item_selector={
                "chunk": sfn.JsonPath.number_at("$$.Map.Item.Value"),
                "run": sfn.JsonPath.object_at(c.RUN),
            },
            # Chunk results go to the ledger; the Map's output would only grow the payload.
            result_path=sfn.JsonPath.DISCARD,
        )
        mapped.item_processor(chunk)
        return mapped

    def _task(self, step: Step, *, state_name: str, chunked: bool) -> sfn.TaskStateBase:
        construct_id = _id(state_name)
        if step.kind == "lambda":
            payload: dict[str, Any] = {
                "run_id": sfn.JsonPath.string_at(f"{c.RUN_PAYLOAD}.run_id"),
                "context": sfn.JsonPath.object_at(f"{c.RUN_PAYLOAD}.context"),
                "params": sfn.JsonPath.object_at(f"{c.RUN_PAYLOAD}.params"),
            }
            if chunked:
                payload["chunk"] = sfn.JsonPath.number_at(c.CHUNK)
            return sfn_tasks.LambdaInvoke(
                self,
                construct_id,
                state_name=state_name,
                lambda_function=self._functions[step.name],
                payload=sfn.TaskInput.from_object(payload),
                result_path=sfn.JsonPath.DISCARD,
                task_timeout=_timeout(step),
            )
        command: list[str] = (
            _json_path_list(
                sfn.JsonPath.array(
                    step.name, "--chunk", sfn.JsonPath.format("{}", sfn.JsonPath.string_at(c.CHUNK))
                )
            )
            if chunked
            else [step.name]
        )
        t = self._fargate
        return sfn_tasks.EcsRunTask(
            self,
            construct_id,
            state_name=state_name,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            cluster=t.cluster,
            task_definition=t.task_definition,
            launch_target=sfn_tasks.EcsFargateLaunchTarget(
                platform_version=ecs.FargatePlatformVersion.LATEST
            ),
            container_overrides=[
                sfn_tasks.ContainerOverride(
                    container_definition=t.container,
                    command=command,
                    environment=[
                        sfn_tasks.TaskEnvironmentVariable(
                            name=c.ENV_PAYLOAD,
                            value=sfn.JsonPath.json_to_string(sfn.JsonPath.object_at(c.RUN_PAYLOAD)),
                        )
                    ],
                )
            ],
            subnets=t.network.subnets,
            security_groups=[t.network.security_group],
            assign_public_ip=False,
            result_path=sfn.JsonPath.DISCARD,  # a .sync task returns its description, not data
            task_timeout=_timeout(step),
        )

    def _cleanup(self, *, failed: bool) -> sfn_tasks.LambdaInvoke:
        step = self._shape.closing
        payload: dict[str, Any] = {
            "run_id": sfn.JsonPath.execution_name,
            "params": sfn.JsonPath.object_at(c.INPUT_PARAMS),
            "outcome": c.OUTCOME_FAILED if failed else c.OUTCOME_SUCCEEDED,
        }
        if failed:
            payload["error"] = sfn.JsonPath.object_at(c.ERROR)
        name = step.name + (c.STATE_FAILURE_CLEANUP_SUFFIX if failed else "")
        # No catch here: if cleanup itself fails, the execution fails outside the catch path and the
        # abnormal-end rules invoke cleanup once more (D19).
        state = sfn_tasks.LambdaInvoke(
            self,
            _id(name),
            state_name=name,
            lambda_function=self._functions[step.name],
            payload=sfn.TaskInput.from_object(payload),
            result_selector={
                "status": sfn.JsonPath.string_at("$.Payload.status"),
                "problems": sfn.JsonPath.list_at("$.Payload.problems"),
            },
            result_path=c.CLEANUP_RESULT,
            task_timeout=_timeout(step),
        )
        _retry(state, step)
        return state

    # -- cdk-nag ---------------------------------------------------------------------------------

    def _acknowledge_findings(self) -> None:
        role = self.state_machine.role
        acknowledge(
            role,
            "IAM5[Resource::*]",
            "X-Ray tracing, log delivery and ecs:StopTask/DescribeTasks of .sync tasks have no "
            "resource-level permissions; CDK grants only the actions each integration needs",
        )
        stack = Stack.of(self)
        for function in {f.function_arn: f for f in self._functions.values()}.values():
            resource = function.node.default_child
            assert isinstance(resource, CfnElement)
            acknowledge(
                role,
                f"IAM5[Resource::<{stack.get_logical_id(resource)}.Arn>:*]",
                "invoking a Lambda from Step Functions covers its versions and aliases (ARN:*); "
                "limited to this pipeline's own function",
            )


def _json_path_list(token: str) -> list[str]:
    """An intrinsic-function expression where the CDK types want a list (rendered as `Key.$`)."""
    return Token.as_list(token)


def _id(state_name: str) -> str:
    return "".join(ch for ch in state_name.title() if ch.isalnum())


def _timeout(step: Step) -> sfn.Timeout:
    return sfn.Timeout.duration(Duration.seconds(step.timeout_seconds))


def _retry(state: sfn.TaskStateBase, step: Step) -> None:
    policy = step.retry
    if policy.max_attempts > 0:
        state.add_retry(
            errors=list(policy.errors),
            max_attempts=policy.max_attempts,
            interval=Duration.seconds(policy.interval_seconds),
            backoff_rate=policy.backoff_rate,
        )
