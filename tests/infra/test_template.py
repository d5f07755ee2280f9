"""The synthesised stack of each environment in cdk.json: the resources the pipeline needs, sized and
named from the environment's context, with least-privilege IAM and no secret values anywhere."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template

from infra import constants as c
from tests.infra.support import Synthesised, policies_granting
from visit_conflicts.pipeline import STEPS


def _template(s: Synthesised) -> Template:
    return Template.from_json(s.template)


def _role_of(s: Synthesised, logical_id: str) -> str:
    role = s.template["Resources"][logical_id]["Properties"]["Role"]
    return str(role["Fn::GetAtt"][0])


def _image_functions(s: Synthesised) -> dict[str, dict[str, Any]]:
    return {
        k: v
        for k, v in s.resources("AWS::Lambda::Function").items()
        if v["Properties"].get("PackageType") == "Image"
    }


def _function_of_step(s: Synthesised, step: str) -> str:
    handler = c.LAMBDA_HANDLER_TEMPLATE.format(step=step)
    (logical_id,) = [
        k for k, v in _image_functions(s).items() if v["Properties"]["ImageConfig"]["Command"] == [handler]
    ]
    return logical_id


def _container(s: Synthesised) -> dict[str, Any]:
    (task,) = s.resources("AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    return dict(container)


def test_one_state_machine_with_tracing_and_full_logging(synthesised: Synthesised) -> None:
    template = _template(synthesised)
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL"}),
        },
    )


def test_lambda_steps_are_container_image_functions_with_their_handler(synthesised: Synthesised) -> None:
    functions = _image_functions(synthesised)
    lambda_steps = [s for s in STEPS if s.kind == "lambda"]
    assert len(functions) == len(lambda_steps) == 2
    for step in lambda_steps:
        props = functions[_function_of_step(synthesised, step.name)]["Properties"]
        assert props["Timeout"] == step.timeout_seconds
        assert "VpcConfig" in props


def test_one_fargate_task_definition_sized_from_context(synthesised: Synthesised) -> None:
    template = _template(synthesised)
    template.resource_count_is("AWS::ECS::TaskDefinition", 1)
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "RequiresCompatibilities": ["FARGATE"],
            "Cpu": str(synthesised.config.fargate.cpu),
            "Memory": str(synthesised.config.fargate.memory_mib),
            "ContainerDefinitions": [Match.object_like({"Name": c.CONTAINER_NAME})],
        },
    )
    template.has_resource_properties(
        "AWS::ECS::Cluster",
        {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]},
    )


def test_schedule_starts_the_state_machine_with_no_overrides(synthesised: Synthesised) -> None:
    schedule = synthesised.config.schedule
    (machine,) = synthesised.resources("AWS::StepFunctions::StateMachine")
    _template(synthesised).has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": f"cron({schedule.cron})",
            "ScheduleExpressionTimezone": schedule.time_zone,
            "State": "ENABLED" if schedule.enabled else "DISABLED",
            "Target": Match.object_like(
                {"Arn": {"Ref": machine}, "Input": Match.serialized_json(c.SCHEDULE_INPUT)}
            ),
        },
    )


def test_abnormal_end_rules_invoke_cleanup_with_the_execution_name_as_run_id(
    synthesised: Synthesised,
) -> None:
    """D19: executions that end outside the catch path still get cleanup."""
    rules = synthesised.resources("AWS::Events::Rule")
    cleanup = _function_of_step(synthesised, next(s.name for s in STEPS if s.always_runs))
    (machine,) = synthesised.resources("AWS::StepFunctions::StateMachine")
    statuses: dict[str, str] = {}
    for rule in rules.values():
        props = rule["Properties"]
        detail = props["EventPattern"]["detail"]
        assert props["EventPattern"]["detail-type"] == ["Step Functions Execution Status Change"]
        assert detail["stateMachineArn"] == [{"Ref": machine}]
        (target,) = props["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [cleanup, "Arn"]}
        transformer = target["InputTransformer"]
        assert transformer["InputPathsMap"]["detail-name"] == "$.detail.name"
        template = json.loads(
            transformer["InputTemplate"].replace("<detail-name>", '"x"').replace("<detail-status>", '"y"')
        )
        patterns = detail.get("$or", [detail])
        for pattern in patterns:
            for status in pattern["status"]:
                statuses[status] = template["outcome"]
            if pattern["status"] == ["FAILED"]:
                # Our own Fail states come after cleanup already ran: they are left out.
                assert pattern["error"] == [{"anything-but": list(c.OWN_FAIL_ERRORS)}]
    assert statuses == {"FAILED": "failed", "TIMED_OUT": "failed", "ABORTED": "cancelled"}


def test_alarms_on_failed_timed_out_and_aborted_executions(synthesised: Synthesised) -> None:
    alarms = synthesised.resources("AWS::CloudWatch::Alarm").values()
    metrics = {a["Properties"]["MetricName"] for a in alarms}
    assert metrics == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"], "every alarm notifies the topic"


def test_environment_variables_hold_names_and_addresses_never_secrets(synthesised: Synthesised) -> None:
    """Credentials stay in Secrets Manager; the code finds them by the names in config/<env>.toml."""
    config = synthesised.config
    expected = {
        c.ENV_ENVIRONMENT: config.name,
        c.ENV_EMAIL_SENDER: config.email.sender,
        c.ENV_EMAIL_RECIPIENTS: ",".join(config.email.recipients),
    }
    for function in _image_functions(synthesised).values():
        assert function["Properties"]["Environment"]["Variables"] == expected
    container = _container(synthesised)
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env == {**expected, c.ENV_REGION: config.region}
    assert "Secrets" not in container
    # The one variable the state machine sets per task is the run payload (ids, context, overrides).
    overrides = [
        e
        for state in _all_states(synthesised.state_machine_definition())
        for o in state.get("Parameters", {}).get("Overrides", {}).get("ContainerOverrides", [])
        for e in o["Environment"]
    ]
    assert overrides and {json.dumps(e, sort_keys=True) for e in overrides} == {
        json.dumps(
            {"Name": c.ENV_PAYLOAD, "Value.$": f"States.JsonToString({c.RUN_PAYLOAD})"}, sort_keys=True
        )
    }
    for text in (json.dumps(expected), json.dumps(env)):
        for secret_name in (config.secrets.source, config.secrets.target):
            assert secret_name not in text  # not even the names: those come from the config file


def test_secrets_are_read_only_by_the_compute_that_opens_connections(synthesised: Synthesised) -> None:
    template = synthesised.template
    readers = policies_granting(template, "secretsmanager:GetSecretValue")
    functions = {_role_of(synthesised, k) for k in _image_functions(synthesised)}
    (task,) = synthesised.resources("AWS::ECS::TaskDefinition").values()
    task_role = task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    assert readers == functions | {task_role}
    text = json.dumps(template)
    for name in (synthesised.config.secrets.source, synthesised.config.secrets.target):
        assert f":secret:{name}-??????" in text


def test_only_cleanup_sends_email_and_only_the_state_machine_runs_tasks(synthesised: Synthesised) -> None:
    template = synthesised.template
    cleanup_role = _role_of(
        synthesised, _function_of_step(synthesised, next(s.name for s in STEPS if s.always_runs))
    )
    assert policies_granting(template, "ses:SendEmail") == {cleanup_role}
    (machine,) = synthesised.resources("AWS::StepFunctions::StateMachine").values()
    machine_role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    assert policies_granting(template, "ecs:RunTask") == {machine_role}
    assert policies_granting(template, "iam:PassRole") == {machine_role}


def test_execution_timeout_and_chunk_concurrency_come_from_context(synthesised: Synthesised) -> None:
    definition = synthesised.state_machine_definition()
    assert definition["TimeoutSeconds"] == synthesised.config.execution_timeout_hours * 3600
    maps = [s for s in _all_states(definition) if s["Type"] == "Map"]
    assert maps and all(m["MaxConcurrency"] == synthesised.config.max_chunk_concurrency for m in maps)


def _all_states(definition: dict[str, Any]) -> list[dict[str, Any]]:
    states: list[dict[str, Any]] = []
    for state in definition["States"].values():
        states.append(state)
        if state["Type"] == "Map":
            states.extend(_all_states(state["ItemProcessor"]))
    return states
