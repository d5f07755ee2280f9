"""Running the synthesised state machine definition locally, with moto's ASL interpreter.

moto (`stepfunctions.execute_state_machine`) executes the real definition: Pass, Choice, Map, Retry,
Catch, intrinsic functions, context paths. Around it, the step work is stubbed but the adapters are
real:

- Lambda tasks call the real handlers in `functions/` (in-process, through moto's Docker-less Lambda
  backend) with the step function, the database resources and the ledger stubbed;
- ECS `runTask.sync` tasks call the real container entrypoint (`containers.entrypoint.main`) with the
  command and the VC_PAYLOAD variable of the task's container override; a non-zero exit fails the
  task with `States.TaskFailed`, as a stopped Fargate task with a failed essential container does.

So an execution checks the definition and the payload contract between the state machine and the
adapters (run id, run context, parameter overrides, chunk argument) without AWS or a database.
The environment variables are those the stack deploys, so the runtime config must load with them.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import boto3
import pytest
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (
    StateTaskServiceEcs,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from infra import constants as c
from tests.infra.support import Synthesised
from visit_conflicts.context import RunContext
from visit_conflicts.pipeline import SHAPE
from visit_conflicts.step_api import StepResult
from visit_conflicts.store.ledger import RunNotOpenError

ACCOUNT = "123456789012"
REGION = "us-east-1"
ALWAYS = -1  # a step that fails on every attempt


@dataclass(frozen=True)
class StepCall:
    """One invocation of a step's work, as the adapter passed it on."""

    step: str
    chunk: int | None
    run_id: str
    params: dict[str, Any]
    outcome: str | None = None  # cleanup only
    error: str | None = None  # cleanup only


@dataclass
class Execution:
    status: str
    error: str | None
    cause: str | None
    output: dict[str, Any] | None
    entered: list[str]  # names of the states entered, in order (incl. Map iterations)
    calls: list[StepCall]
    retry_waits: list[float]

    def steps(self) -> list[str]:
        """The steps that did work, in order, each once (chunks and retries collapsed)."""
        seen: list[str] = []
        for call in self.calls:
            if call.step not in seen:
                seen.append(call.step)
        return seen

    def chunks(self, step: str) -> list[int]:
        return sorted({call.chunk for call in self.calls if call.step == step and call.chunk is not None})

    def attempts(self, step: str, chunk: int | None = None) -> int:
        return sum(1 for call in self.calls if call.step == step and call.chunk == chunk)


@dataclass
class StubbedWork:
    """What the steps do in these tests: record the call; fail when told to (`fail[step] = n` fails
    the first n attempts, ALWAYS every attempt; `fail["detect:2"]` only chunk 2). A failure is a logic
    error (permanent) unless its key is in `transient` (then a dropped connection). The ledger's lock
    rule is kept as the real `step_runner.run_step` keeps it: a work step of a run that the closing
    steps closed is refused with `RunNotOpenError` (a permanent failure)."""

    fail: dict[str, int] = field(default_factory=dict)
    transient: set[str] = field(default_factory=set)
    report_status: str | None = None  # what the report says; default: the outcome it was given
    on_step: dict[str, Any] = field(default_factory=dict)  # step -> callback(run_id) before it runs
    calls: list[StepCall] = field(default_factory=list)
    closed: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, call: StepCall) -> None:
        with self._lock:
            self.calls.append(call)
            for key in (f"{call.step}:{call.chunk}", call.step):
                remaining = self.fail.get(key, 0)
                if remaining:
                    if remaining > 0:
                        self.fail[key] = remaining - 1
                    if key in self.transient:
                        raise ConnectionResetError(f"stubbed transient failure of {key}")
                    raise RuntimeError(f"stubbed failure of {key}")

    # -- the runtime functions the adapters call ------------------------------------------------

    def run_step(
        self, res: Any, ctx: RunContext, params: Any, step: str, *, chunk: int | None = None
    ) -> StepResult:
        if step in self.on_step:
            self.on_step[step](ctx.run_id)
        if step != SHAPE.opening.name and ctx.run_id in self.closed:
            raise RunNotOpenError(f"step {step} refused: run {ctx.run_id!r} is closed")
        self.record(StepCall(step, chunk, ctx.run_id, params.model_dump(mode="json")))
        # The opening step hands on the run's context, as the real one does.
        return StepResult(context=ctx if step == SHAPE.opening.name else None)

    def close_run(
        self,
        res: Any,
        params: Any,
        run_id: str,
        *,
        outcome: str,
        error: str | None,
        ctx: Any = None,
        steps: Any = None,
    ) -> StepResult:
        result = StepResult()
        for step in SHAPE.closing:
            if steps is not None and step.name not in steps:
                continue
            self.record(StepCall(step.name, None, run_id, params.model_dump(mode="json"), outcome, error))
            if step is SHAPE.closing[0]:
                already = run_id in self.closed
                self.closed.add(run_id)
                result = StepResult(status="skipped" if already else "succeeded")
            else:
                status = self.report_status or outcome
                result = StepResult(report={"status": status}, notes=[f"report of {run_id}: {status}"])
        return result


class LocalStepFunctions:
    """The synthesised state machine, created in moto, its tasks wired to the real adapters."""

    def __init__(self, synthesised: Synthesised, monkeypatch: pytest.MonkeyPatch, work: StubbedWork) -> None:
        self.synthesised = synthesised
        self.work = work
        self.retry_waits: list[float] = []
        self._adapter_lock = threading.Lock()  # the entrypoint reads os.environ: one task at a time
        self._steps_by_function_arn = self._function_arns()
        self._monkeypatch = monkeypatch
        self.definition = synthesised.state_machine_definition(self._resolve)

    # -- CloudFormation references -> concrete values ---------------------------------------------

    def _function_arns(self) -> dict[str, str]:
        arns = {}
        for logical_id, resource in self.synthesised.resources("AWS::Lambda::Function").items():
            command = resource["Properties"].get("ImageConfig", {}).get("Command", [])
            if command:
                step = command[0].split(".")[1]  # functions.<step>.handler (or functions.cleanup)
                arns[logical_id] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:vc-{step}"
        return arns

    def _resolve(self, reference: Mapping[str, Any]) -> str:
        if reference.get("Ref") == "AWS::Partition":
            return "aws"
        if "Fn::GetAtt" in reference:
            logical_id, attribute = reference["Fn::GetAtt"]
            if logical_id in self._steps_by_function_arn and attribute == "Arn":
                return self._steps_by_function_arn[logical_id]
            return f"arn:aws:fake:{REGION}:{ACCOUNT}:{logical_id}/{attribute}"
        return f"fake-{reference['Ref']}"

    # -- stubs ------------------------------------------------------------------------------------

    def _patch(self) -> None:
        mp = self._monkeypatch
        steps_by_arn = {arn: arn.rsplit(":vc-", 1)[1] for arn in self._steps_by_function_arn.values()}
        harness = self

        def invoke(
            _backend: Any,
            function_name: str,
            qualifier: Any,
            body: Any,
            headers: Any,
            response_headers: dict[str, str],
        ) -> bytes:
            step = steps_by_arn[function_name]
            handler = importlib.import_module(f"functions.{step}").handler
            context = SimpleNamespace(
                function_name=f"vc-{step}",
                memory_limit_in_mb=c.LAMBDA_MEMORY_MIB,
                invoked_function_arn=function_name,
                aws_request_id="request",
            )
            try:
                with harness._adapter_lock:
                    result = handler(json.loads(body), context)
            except Exception as exc:  # what Lambda returns for an unhandled exception
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()
            return json.dumps(result).encode()

        def run_task(
            task: Any,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: dict[str, Any],
            state_credentials: Any,
        ) -> None:
            (override,) = normalised_parameters["Overrides"]["ContainerOverrides"]
            assert override["Name"] == c.CONTAINER_NAME
            variables = {v["Name"]: v["Value"] for v in override["Environment"]}
            from containers import entrypoint

            with harness._adapter_lock:
                mp.setenv(c.ENV_PAYLOAD, variables[c.ENV_PAYLOAD])
                exit_code = entrypoint.main(list(override["Command"]))
            env.stack.append(
                {
                    "Tasks": [
                        {
                            "TaskArn": "task",
                            "ClusterArn": normalised_parameters["Cluster"],
                            "ExitCode": exit_code,
                        }
                    ]
                }
            )

        def sync_resolver(
            task: Any,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: Any,
            state_credentials: Any,
        ) -> Any:
            submitted = env.stack.pop()["Tasks"][0]

            def resolve() -> dict[str, Any]:
                if submitted["ExitCode"] != 0:
                    # What ECS .sync puts in the cause: the stopped task's description.
                    cause = {
                        "LastStatus": "STOPPED",
                        "StopCode": "EssentialContainerExited",
                        "StoppedReason": "Essential container in task exited",
                        "Containers": [{"Name": c.CONTAINER_NAME, "ExitCode": submitted["ExitCode"]}],
                    }
                    raise FailureEventException(
                        FailureEvent(
                            env=env,
                            error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                            event_type=HistoryEventType.TaskFailed,
                            event_details=cast(
                                EventDetails,
                                {
                                    "taskFailedEventDetails": TaskFailedEventDetails(
                                        error="States.TaskFailed",
                                        cause=json.dumps(cause),
                                        resourceType="ecs",
                                        resource="runTask.sync",
                                    )
                                },
                            ),
                        )
                    )
                return {"LastStatus": "STOPPED", "Containers": [{"ExitCode": 0}]}

            return resolve

        mp.setattr(LambdaSimpleBackend, "invoke", invoke)
        mp.setattr(StateTaskServiceEcs, "_eval_service_task", run_task)
        mp.setattr(StateTaskServiceEcs, "_build_sync_resolver", sync_resolver)
        # moto also listens for a task token on .sync tasks and reuses the interrupted listener of a
        # failed attempt, so a retried attempt "times out" at once; a stubbed task ends immediately,
        # so resolve it directly.
        mp.setattr(StateTaskServiceEcs, "_eval_sync", lambda task, env, sync_resolver, **_: sync_resolver())
        # Retries wait IntervalSeconds * BackoffRate^n: record the waits instead of sleeping.
        mp.setattr(retrier_decl, "time", SimpleNamespace(sleep=self.retry_waits.append))
        # Run each execution to its end inside start_execution (moto's synchronous worker mode).
        mp.setattr(ExecutionWorker, "start", lambda worker: worker._execution_logic())
        # A task's TimeoutSeconds is evaluated onto the frame's stack and popped at once, but moto
        # skips the evaluation in a frame that has stopped (a Map iteration still scheduling its task
        # when another iteration failed the Map), so the pop takes the iteration's input and the
        # history event's integer `timeoutInSeconds` becomes a dict that get_execution_history cannot
        # serialise. The value is a constant: push it whatever the frame's state.
        mp.setattr(TimeoutSeconds, "eval", lambda timeout, env: env.stack.append(timeout.timeout_seconds))

        work = self.work
        mp.setattr("functions.preflight.resources", lambda params: SimpleNamespace(owner=None))
        mp.setattr("functions.preflight.run_step", work.run_step)
        mp.setattr("functions.closing.resources", lambda params: None)
        mp.setattr("functions.closing.close_run", work.close_run)
        mp.setattr("containers.entrypoint.resources", lambda params: SimpleNamespace(cancel=None))
        mp.setattr("containers.entrypoint.run_step", work.run_step)
        # What the stack deploys into every Lambda and container (plus the region both have).
        for name, value in {**self.synthesised.config.deployed_environment(), c.ENV_REGION: REGION}.items():
            mp.setenv(name, value)
        for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
            mp.setenv(name, value)

    @contextmanager
    def running(self) -> Iterator[LocalStepFunctions]:
        self._patch()
        config: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        with mock_aws(config=config):
            self._client = boto3.client("stepfunctions", region_name=REGION)
            self._arn = self._client.create_state_machine(
                name="visit-conflicts",
                definition=json.dumps(self.definition),
                roleArn=f"arn:aws:iam::{ACCOUNT}:role/visit-conflicts",
            )["stateMachineArn"]
            yield self

    def execute(self, name: str, execution_input: Mapping[str, Any]) -> Execution:
        """Start an execution named `name` (= the run id) and return how it ended."""
        self.work.calls.clear()
        self.retry_waits.clear()
        arn = self._client.start_execution(
            stateMachineArn=self._arn, name=name, input=json.dumps(execution_input)
        )["executionArn"]
        described = self._client.describe_execution(executionArn=arn)
        events = self._client.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
        return Execution(
            status=described["status"],
            error=described.get("error"),
            cause=described.get("cause"),
            output=json.loads(described["output"]) if described.get("output") else None,
            entered=entered,
            calls=list(self.work.calls),
            retry_waits=list(self.retry_waits),
        )

    # -- abnormal ends and redrive ----------------------------------------------------------------

    def stop_when(self, step: str) -> None:
        """Stop (abort) the running execution when `step` starts, as an operator would."""

        def stop(run_id: str) -> None:
            arns = [
                e["executionArn"]
                for e in self._client.list_executions(stateMachineArn=self._arn)["executions"]
                if e["name"] == run_id and e["status"] == "RUNNING"
            ]
            for arn in arns:
                self._client.stop_execution(executionArn=arn, error="Stopped", cause="by hand")

        self.work.on_step[step] = stop

    def deliver_status_change(self, name: str, execution_input: Mapping[str, Any]) -> dict[str, Any] | None:
        """The execution's status-change event through the synthesised abnormal-end rules into the
        cleanup Lambda (the real handler); its result, or None when no rule matches."""
        arn = f"{self._arn.replace(':stateMachine:', ':execution:')}:{name}"
        described = self._client.describe_execution(executionArn=arn)
        event = status_change_event(
            self._arn, name, described["status"], described.get("error"), json.dumps(execution_input)
        )
        inputs = cleanup_inputs(self.synthesised, event, self._arn)
        if not inputs:
            return None
        (sent,) = inputs
        from functions import cleanup

        context = SimpleNamespace(
            function_name="vc-cleanup", memory_limit_in_mb=1024, invoked_function_arn="x", aws_request_id="r"
        )
        result: dict[str, Any] = cleanup.handler(sent, context)
        return result

    def redrive(self, name: str, state: str, execution_input: Mapping[str, Any]) -> Execution:
        """What a redrive does: the same execution (name, input) resumes at the state that failed, with
        that state's recorded input. moto has no redrive, so a copy of the definition starts there."""
        arn = f"{self._arn.replace(':stateMachine:', ':execution:')}:{name}"
        events = self._client.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        entered = [
            e["stateEnteredEventDetails"]
            for e in events
            if e.get("stateEnteredEventDetails", {}).get("name") == state
        ]
        state_input = json.loads(entered[-1]["input"])
        definition = json.loads(json.dumps(self.definition))
        definition["States"]["Redrive"] = {"Type": "Pass", "Result": state_input, "Next": state}
        definition["StartAt"] = "Redrive"
        machine = self._client.create_state_machine(
            name=f"redrive-{name}",
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/x",
        )["stateMachineArn"]
        original = self._arn
        self._arn = machine
        try:
            return self.execute(name, execution_input)
        finally:
            self._arn = original


def status_change_event(
    machine_arn: str, name: str, status: str, error: str | None, execution_input: str
) -> dict[str, Any]:
    """A Step Functions "Execution Status Change" event as EventBridge delivers it."""
    return {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": f"{machine_arn.replace(':stateMachine:', ':execution:')}:{name}",
            "stateMachineArn": machine_arn,
            "name": name,
            "status": status,
            "error": error,
            "cause": None,
            "input": execution_input,
        },
    }


def cleanup_inputs(synthesised: Synthesised, event: dict[str, Any], machine_arn: str) -> list[dict[str, Any]]:
    """What the synthesised rules send to the cleanup Lambda for `event` (one entry per matching rule),
    evaluated with moto's EventBridge pattern matcher and the rules' input transformers. `machine_arn`
    is the pipeline state machine's ARN (the migrate machine's executions are not the rules' concern)."""
    from moto.events.models import EventPattern

    pipeline_machine = json.dumps({"Ref": synthesised.pipeline_machine_id()})
    inputs = []
    for rule in synthesised.resources("AWS::Events::Rule").values():
        text_pattern = json.dumps(rule["Properties"]["EventPattern"]).replace(
            pipeline_machine, json.dumps(machine_arn)
        )
        if not EventPattern(None, json.loads(text_pattern)).matches_event(cast(Any, event)):
            continue
        (target,) = rule["Properties"]["Targets"]
        transformer = target["InputTransformer"]
        text = transformer["InputTemplate"]
        for name, path in transformer["InputPathsMap"].items():
            value: Any = event
            for key in path.removeprefix("$.").split("."):
                value = value[key]
            text = text.replace(f"<{name}>", json.dumps(value))
        inputs.append(json.loads(text))
    return inputs
