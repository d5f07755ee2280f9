"""The Step Functions state machine, built by walking the step list (`visit_conflicts.pipeline.STEPS`).

Shape (JSONPath query language):

    <opening step, Lambda: preflight>  payload: run id = execution name, execution ARN, execution input
                                       (unknown top-level input keys are refused there); result at $.run
    for each work step, in STEPS order:
        Select <step> (Pass: States.ArrayContains($.run.steps, '<step>')) -> Run <step>? (Choice)
            selected:     <step>   Lambda task, or for a Fargate step a Parallel around the ECS task that
                                   classifies its exit (below), or a Map over $.run.chunks of either
            not selected: the next step's Select state
    Work succeeded (Pass: $.end = succeeded) -> <closing steps, Lambdas: restore -> report>
    any step's catch (States.ALL, error at $.error) -> Work failed (Pass: $.end = failed, the error)
        -> the same closing steps
    Run succeeded? (the report's run status) -> Done | Run not succeeded (Fail, cause: the report's
        message, which names the execution input that finishes the work)

A Fargate step `X` is a Parallel state `X` with one branch: `X task` (ECS RunTask .sync); a failed
task (States.TaskFailed, cause = the task's description) goes to `X exit code` (parse the cause) and
`X exit?`: exit code 75, or a task that failed to start, ends in the Fail state `X transient` (error
TransientError), anything else in `X permanent` (error PermanentError). The Parallel retries only
TransientError, with exponential backoff and full jitter; Lambda steps likewise retry TransientError
(what the adapters raise for a transient failure) and Lambda's own service errors. Nothing else is
retried: a logic error goes straight to the closing steps.

Redrive is not supported (a closed run is never resumed): the catch path ends the run through the
closing steps, and a step that a redrive re-enters is refused by the ledger (its run is closed) as a
permanent error, which leads through the closing steps again (they leave the closed run alone) to the
Fail state, whose cause says which execution to start instead. The abnormal-end rule covers executions
that end without reaching the closing steps (`infra.abnormal_end`).

The first choice rule of every Choice state is the path of a run in which every step is selected and
succeeds; `visited_steps` relies on that. The payload holds ids, the run context, parameter overrides
and the chunk list, never credentials or bulk results (those go through the run ledger, D20).
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
from visit_conflicts.errors import TRANSIENT_ERROR
from visit_conflicts.pipeline import Step, pipeline_shape


def visited_steps(definition: Mapping[str, Any]) -> list[str]:
    """Names of the step states, in the order a run visits them when every step is selected and succeeds.

    Walks the ASL from StartAt along Next, taking the first rule of each Choice; Task, Map and Parallel
    states are steps (a Map's iterations and a Parallel's task are its step, not separate ones). Pure:
    only the definition is read.
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
        if kind in ("Task", "Map", "Parallel"):
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
        state_machine_name: str,
        log_group_name: str,
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
        self.log_group = logs.LogGroup(self, "Logs", log_group_name=log_group_name, retention=log_retention)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=state_machine_name,
            definition_body=sfn.DefinitionBody.from_chainable(self._definition()),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=execution_timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ALL,
                # The payload holds ids, the run context and parameter overrides only: safe to log.
                include_execution_data=True,
            ),
        )
        self._acknowledge_findings()

    # -- definition -----------------------------------------------------------------------------

    def _definition(self) -> sfn.IChainable:
        shape = self._shape
        succeeded = sfn.Choice(self, "RunSucceeded", state_name=c.STATE_RUN_SUCCEEDED)
        succeeded.when(
            sfn.Condition.string_equals(f"{c.REPORT_RESULT}.status", c.OUTCOME_SUCCEEDED),
            sfn.Succeed(self, "Done", state_name=c.STATE_SUCCEED),
        )
        succeeded.otherwise(
            sfn.Fail(
                self,
                "RunNotSucceeded",
                state_name=c.STATE_FAIL_RUN,
                error=c.ERROR_RUN_NOT_SUCCEEDED,
                # The report step always returns a message: what failed, and the execution input that
                # finishes the work (redrive is not supported).
                cause_path=f"{c.REPORT_RESULT}.message",
            )
        )
        closing: sfn.IChainable = succeeded
        for step in reversed(shape.closing):
            closing = self._closing(step).next(closing)
        work_failed = sfn.Pass(
            self,
            "WorkFailed",
            state_name=c.STATE_WORK_FAILED,
            parameters={"outcome": c.OUTCOME_FAILED, "error": sfn.JsonPath.object_at(c.ERROR)},
            result_path=c.END,
        ).next(closing)
        work_succeeded = sfn.Pass(
            self,
            "WorkSucceeded",
            state_name=c.STATE_WORK_SUCCEEDED,
            parameters={"outcome": c.OUTCOME_SUCCEEDED, "error": ""},
            result_path=c.END,
        ).next(closing)
        # Built back to front: each work step's "skip" edge leads to the next step's selection.
        next_state: sfn.IChainable = work_succeeded
        for step in reversed(shape.work):
            next_state = self._optional(step, next_state, work_failed)
        opening = self._opening(work_failed)
        opening.next(next_state)
        return opening

    def _opening(self, failure: sfn.IChainable) -> sfn_tasks.LambdaInvoke:
        step = self._shape.opening
        state = sfn_tasks.LambdaInvoke(
            self,
            _id(step.name),
            state_name=step.name,
            lambda_function=self._functions[step.name],
            retry_on_service_exceptions=False,  # `_retry` covers them, with jitter
            payload=sfn.TaskInput.from_object(
                {
                    # The execution name is the run id (D1), so the console, the ledger and the logs
                    # agree; the execution ARN lets the ledger ask later whether the execution runs.
                    "run_id": sfn.JsonPath.execution_name,
                    "execution_arn": sfn.JsonPath.execution_id,
                    # The whole input: preflight refuses keys it does not know (D3).
                    "input": sfn.JsonPath.object_at("$$.Execution.Input"),
                }
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

    def _work(self, step: Step) -> sfn.TaskStateBase | sfn.Map | sfn.Parallel:
        if not step.map_over_chunks:
            return self._retried(step, state_name=step.name, chunked=False)
        chunk = self._retried(step, state_name=step.name + c.STATE_CHUNK_SUFFIX, chunked=True)
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

    def _retried(self, step: Step, *, state_name: str, chunked: bool) -> sfn.TaskStateBase | sfn.Parallel:
        """The state that runs one call of the step, with its retry of transient failures."""
        if step.kind == "lambda":
            task = self._lambda_task(step, state_name=state_name, chunked=chunked)
            _retry(task, step)
            return task
        classified = self._classified_task(step, state_name=state_name, chunked=chunked)
        _retry(classified, step)
        return classified

    def _lambda_task(self, step: Step, *, state_name: str, chunked: bool) -> sfn_tasks.LambdaInvoke:
        payload: dict[str, Any] = {
            "run_id": sfn.JsonPath.string_at(f"{c.RUN_PAYLOAD}.run_id"),
            "context": sfn.JsonPath.object_at(f"{c.RUN_PAYLOAD}.context"),
            "params": sfn.JsonPath.object_at(f"{c.RUN_PAYLOAD}.params"),
        }
        if chunked:
            payload["chunk"] = sfn.JsonPath.number_at(c.CHUNK)
        return sfn_tasks.LambdaInvoke(
            self,
            _id(state_name),
            state_name=state_name,
            lambda_function=self._functions[step.name],
            retry_on_service_exceptions=False,  # `_retry` covers them, with jitter
            payload=sfn.TaskInput.from_object(payload),
            result_path=sfn.JsonPath.DISCARD,
            task_timeout=_timeout(step),
        )

    def _classified_task(self, step: Step, *, state_name: str, chunked: bool) -> sfn.Parallel:
        """Parallel <state_name> { <state_name> task -> (TaskFailed) exit code -> exit? -> transient |
        permanent }: the container's exit code becomes an error name the Retry can tell apart."""
        task = self._ecs_task(step, state_name=state_name + c.STATE_TASK_SUFFIX, chunked=chunked)
        parse = sfn.Pass(
            self,
            _id(state_name) + "ExitCode",
            state_name=state_name + " exit code",
            parameters={
                "task": sfn.JsonPath.string_to_json(sfn.JsonPath.string_at(f"{c.TASK_FAILURE}.Cause"))
            },
            result_path=c.TASK_FAILURE,
        )
        # [*] and ArrayContains, not Containers[0]: a list either way, whatever the JSONPath engine.
        exits = sfn.Pass(
            self,
            _id(state_name) + "ExitTransient",
            state_name=state_name + " exit 75?",
            parameters={
                "transient": sfn.JsonPath.array_contains(
                    sfn.JsonPath.list_at(f"{c.TASK_FAILURE}.task.Containers[*].ExitCode"), c.EXIT_TRANSIENT
                )
            },
            result_path=f"{c.TASK_FAILURE}.exit",
        )
        stop_code = f"{c.TASK_FAILURE}.task.StopCode"
        classify = sfn.Choice(self, _id(state_name) + "Exit", state_name=state_name + c.STATE_CLASSIFY_SUFFIX)
        classify.when(
            sfn.Condition.or_(
                sfn.Condition.boolean_equals(f"{c.TASK_FAILURE}.exit.transient", True),
                sfn.Condition.and_(
                    sfn.Condition.is_present(stop_code),
                    sfn.Condition.string_equals(stop_code, "TaskFailedToStart"),
                ),
            ),
            sfn.Fail(
                self,
                _id(state_name) + "Transient",
                state_name=state_name + c.STATE_TRANSIENT_SUFFIX,
                error=TRANSIENT_ERROR,
                cause=f"{state_name}: the task ended with a transient failure (exit 75 or not started)",
            ),
        )
        classify.otherwise(
            sfn.Fail(
                self,
                _id(state_name) + "Permanent",
                state_name=state_name + c.STATE_PERMANENT_SUFFIX,
                error=c.ERROR_PERMANENT,
                cause=f"{state_name}: the task failed; see its log stream and the run report",
            )
        )
        task.add_catch(
            parse.next(exits).next(classify), errors=[sfn.Errors.TASKS_FAILED], result_path=c.TASK_FAILURE
        )
        parallel = sfn.Parallel(
            self,
            _id(state_name),
            state_name=state_name,
            # A .sync task returns its description, not data; results go to the ledger.
            result_path=sfn.JsonPath.DISCARD,
        )
        parallel.branch(task)
        return parallel

    def _ecs_task(self, step: Step, *, state_name: str, chunked: bool) -> sfn_tasks.EcsRunTask:
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
            _id(state_name),
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
            result_path=sfn.JsonPath.DISCARD,
            task_timeout=_timeout(step),
        )

    def _closing(self, step: Step) -> sfn_tasks.LambdaInvoke:
        """A closing step's state: the run id, the execution input (it locates the run's schema), how the
        work ended. No catch: if a closing step keeps failing, the execution fails outside the closing
        path and the abnormal-end rule runs every closing step once more (D19)."""
        result = c.REPORT_RESULT if step is self._shape.closing[-1] else f"$.{step.name}"
        state = sfn_tasks.LambdaInvoke(
            self,
            _id(step.name),
            state_name=step.name,
            lambda_function=self._functions[step.name],
            retry_on_service_exceptions=False,  # `_retry` covers them, with jitter
            payload=sfn.TaskInput.from_object(
                {
                    "run_id": sfn.JsonPath.execution_name,
                    "input": sfn.JsonPath.object_at("$$.Execution.Input"),
                    "outcome": sfn.JsonPath.string_at(f"{c.END}.outcome"),
                    "error": sfn.JsonPath.object_at(f"{c.END}.error"),
                }
            ),
            result_selector={
                "status": sfn.JsonPath.string_at("$.Payload.status"),
                "problems": sfn.JsonPath.list_at("$.Payload.problems"),
                "message": sfn.JsonPath.string_at("$.Payload.message"),
            },
            result_path=result,
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


def _retry(state: sfn.TaskStateBase | sfn.Parallel, step: Step) -> None:
    """Retry transient failures only: TransientError (the adapters' and the exit-code classification's
    name) and, for Lambda steps, Lambda's own service errors; exponential backoff with full jitter."""
    policy = step.retry
    if policy.max_attempts > 0:
        errors = [TRANSIENT_ERROR, *(c.LAMBDA_SERVICE_ERRORS if step.kind == "lambda" else ())]
        state.add_retry(
            errors=errors,
            max_attempts=policy.max_attempts,
            interval=Duration.seconds(policy.interval_seconds),
            backoff_rate=policy.backoff_rate,
            max_delay=Duration.seconds(policy.max_delay_seconds),
            jitter_strategy=sfn.JitterType.FULL,
        )
