"""The synthesised stack of each environment in cdk.json: the resources the pipeline needs, sized and
named from the environment's context, in the environment's imported network, with least-privilege IAM,
alarms that reach someone, and no secret values anywhere."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk.assertions import Match, Template

from infra import constants as c
from infra.images import lifecycle_policy
from infra.migrate import MIGRATE_TIMEOUT
from tests.infra.support import Synthesised, placeholder, policies_granting, render_definition
from visit_conflicts.pipeline import STEPS, pipeline_shape

SHAPE = pipeline_shape(STEPS)


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


def _function_with_handler(s: Synthesised, handler: str) -> str:
    (logical_id,) = [
        k for k, v in _image_functions(s).items() if v["Properties"]["ImageConfig"]["Command"] == [handler]
    ]
    return logical_id


def _function_of_step(s: Synthesised, step: str) -> str:
    return _function_with_handler(s, c.LAMBDA_HANDLER_TEMPLATE.format(step=step))


def _step_role(s: Synthesised, step: str) -> str:
    return _role_of(s, _function_of_step(s, step))


def _cleanup_role(s: Synthesised) -> str:
    return _role_of(s, _function_with_handler(s, c.ABNORMAL_END_HANDLER))


def _task_definitions(s: Synthesised) -> dict[str, dict[str, Any]]:
    """ "step" (every Fargate step) and "migrate" (the one-off migration) -> the task definition."""
    by_prefix = {}
    for logical_id, task in s.resources("AWS::ECS::TaskDefinition").items():
        (container,) = task["Properties"]["ContainerDefinitions"]
        prefix = container["LogConfiguration"]["Options"]["awslogs-stream-prefix"]
        by_prefix[prefix] = {"id": logical_id, **task}
    assert set(by_prefix) == {"step", "migrate"}
    return by_prefix


def _task_role(task: Mapping[str, Any]) -> str:
    return str(task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0])


def _machine_roles(s: Synthesised) -> dict[str, str]:
    """ "pipeline" and "migrate" -> the state machine's role."""
    roles = {}
    for logical_id, machine in s.resources("AWS::StepFunctions::StateMachine").items():
        key = "pipeline" if logical_id == s.pipeline_machine_id() else "migrate"
        roles[key] = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    return roles


def _statements(template: Mapping[str, Any], role: str) -> list[dict[str, Any]]:
    return [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in resource["Properties"].get("Roles", [])
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _roles_reading_secret(s: Synthesised, name: str) -> set[str]:
    readers = set()
    for role in {
        r["Ref"] for p in s.resources("AWS::IAM::Policy").values() for r in p["Properties"]["Roles"]
    }:
        for statement in _statements(s.template, role):
            if "secretsmanager:GetSecretValue" in _as_list(statement["Action"]) and any(
                f":secret:{name}-??????" in json.dumps(r) for r in _as_list(statement["Resource"])
            ):
                readers.add(role)
    return readers


def _without_description(resource: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource["Properties"].items() if k != "Description"}


def _all_states(definition: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every state, also inside Map iterations and Parallel branches."""
    states: list[dict[str, Any]] = []
    for state in definition["States"].values():
        states.append(state)
        if state["Type"] == "Map":
            states.extend(_all_states(state["ItemProcessor"]))
        for branch in state.get("Branches", []):
            states.extend(_all_states(branch))
    return states


# -- state machines ---------------------------------------------------------------------------------


def test_pipeline_and_migrate_state_machines_trace_and_log_to_vendedlogs(synthesised: Synthesised) -> None:
    """Step Functions log delivery needs a /aws/vendedlogs/ group (resource-policy size limit)."""
    machines = synthesised.resources("AWS::StepFunctions::StateMachine")
    names = {m["Properties"]["StateMachineName"] for m in machines.values()}
    environment = synthesised.config.name
    assert names == {
        synthesised.config.state_machine_name,
        c.MIGRATE_STATE_MACHINE_NAME_TEMPLATE.format(environment=environment),
    }
    log_groups = synthesised.resources("AWS::Logs::LogGroup")
    for machine in machines.values():
        props = machine["Properties"]
        assert props["TracingConfiguration"] == {"Enabled": True}
        logging = props["LoggingConfiguration"]
        assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is True
        (destination,) = logging["Destinations"]
        group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
        group = log_groups[group_id]["Properties"]
        base = c.STATE_MACHINE_LOG_GROUP_TEMPLATE.format(environment=environment)
        assert group["LogGroupName"] in {base, base + "-migrate"}
        assert group["LogGroupName"].startswith("/aws/vendedlogs/states/")
        assert group["RetentionInDays"] == synthesised.config.log_retention_days


def test_execution_timeout_and_chunk_concurrency_come_from_context(synthesised: Synthesised) -> None:
    definition = synthesised.state_machine_definition()
    assert definition["TimeoutSeconds"] == synthesised.config.execution_timeout_hours * 3600
    maps = [s for s in _all_states(definition) if s["Type"] == "Map"]
    assert maps and all(m["MaxConcurrency"] == synthesised.config.max_chunk_concurrency for m in maps)


def test_the_migrate_machine_runs_the_image_as_migrate_on_its_own_task(synthesised: Synthesised) -> None:
    """The pipeline's ECS tasks all run on the step task definition; the migrate machine runs the same
    image as `migrate` on the migration's (which reads no Snowflake secret), in the same subnets."""
    (machine_id,) = [
        k
        for k in synthesised.resources("AWS::StepFunctions::StateMachine")
        if k != synthesised.pipeline_machine_id()
    ]
    machine = synthesised.resources("AWS::StepFunctions::StateMachine")[machine_id]
    migrate = render_definition(machine["Properties"]["DefinitionString"], placeholder)
    tasks = _task_definitions(synthesised)
    timeout = int(MIGRATE_TIMEOUT.to_seconds())
    assert migrate["TimeoutSeconds"] == timeout
    state = migrate["States"][migrate["StartAt"]]
    assert state["Resource"].endswith(":states:::ecs:runTask.sync") and state["TimeoutSeconds"] == timeout
    parameters = state["Parameters"]
    assert parameters["TaskDefinition"] == tasks["migrate"]["Properties"]["Family"]
    (override,) = parameters["Overrides"]["ContainerOverrides"]
    assert override["Command"] == [c.MIGRATE_COMMAND]
    subnets = synthesised.config.network.private_subnet_ids
    assert parameters["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"] == subnets
    pipeline_tasks = [
        s["Parameters"]
        for s in _all_states(synthesised.state_machine_definition())
        if s.get("Resource", "").endswith(":states:::ecs:runTask.sync")
    ]
    assert len(pipeline_tasks) == sum(1 for s in STEPS if s.kind == "fargate")
    for task in pipeline_tasks:
        assert task["TaskDefinition"] == tasks["step"]["Properties"]["Family"]
        assert task["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"] == subnets


# -- compute ----------------------------------------------------------------------------------------


def test_lambda_steps_the_abnormal_end_cleanup_and_explain_are_image_functions_in_the_vpc(
    synthesised: Synthesised,
) -> None:
    functions = _image_functions(synthesised)
    lambda_steps = [s for s in STEPS if s.kind == "lambda"]
    assert len(functions) == len(lambda_steps) + 2  # + the abnormal-end cleanup and explain
    network = synthesised.config.network
    (group,) = synthesised.resources("AWS::EC2::SecurityGroup")
    for logical_id, function in functions.items():
        props = function["Properties"]
        assert props["Architectures"] == ["x86_64"]
        assert props["VpcConfig"]["SubnetIds"] == network.private_subnet_ids
        assert props["VpcConfig"]["SecurityGroupIds"] == [{"Fn::GetAtt": [group, "GroupId"]}]
        assert props["Timeout"] <= c.LAMBDA_MAX_TIMEOUT_SECONDS
        assert "LogGroup" in props["LoggingConfig"], logical_id
    for step in lambda_steps:
        props = functions[_function_of_step(synthesised, step.name)]["Properties"]
        assert props["Timeout"] == step.timeout_seconds
    cleanup = functions[_function_with_handler(synthesised, c.ABNORMAL_END_HANDLER)]["Properties"]
    # It runs every closing step in one invocation.
    assert cleanup["Timeout"] >= sum(s.timeout_seconds for s in SHAPE.closing)


def test_fargate_task_definitions_sized_from_context_and_for_migrations(synthesised: Synthesised) -> None:
    tasks = _task_definitions(synthesised)
    fargate = synthesised.config.fargate
    for name, (cpu, memory) in {"step": (fargate.cpu, fargate.memory_mib), "migrate": (512, 1024)}.items():
        props = tasks[name]["Properties"]
        assert (props["Cpu"], props["Memory"]) == (str(cpu), str(memory)), name
        assert props["RequiresCompatibilities"] == ["FARGATE"]
        assert props["RuntimePlatform"] == {"CpuArchitecture": "X86_64", "OperatingSystemFamily": "LINUX"}
        assert props["ContainerDefinitions"][0]["Name"] == c.CONTAINER_NAME
    _template(synthesised).has_resource_properties(
        "AWS::ECS::Cluster",
        {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]},
    )


def test_both_images_are_linux_amd64_targets_of_the_one_dockerfile_with_the_app_tag_prefix(
    synthesised: Synthesised,
) -> None:
    """The ECR lifecycle rule keeps the newest images by this tag prefix."""
    assets = json.loads((synthesised.outdir / f"{synthesised.stack.stack_name}.assets.json").read_text())
    images = assets["dockerImages"].values()
    assert {i["source"]["dockerBuildTarget"] for i in images} == {
        c.LAMBDA_BUILD_TARGET,
        c.FARGATE_BUILD_TARGET,
    }
    for image in images:
        assert image["source"]["platform"] == "linux/amd64"
        assert image["source"]["dockerFile"] == c.DOCKERFILE
        for destination in image["destinations"].values():
            assert destination["imageTag"].startswith(c.DOCKER_TAG_PREFIX)


def test_ecr_lifecycle_is_put_on_the_bootstrap_image_repository(synthesised: Synthesised) -> None:
    repository = synthesised.stack.synthesizer_repository_name()
    calls = [
        json.loads(r["Properties"]["Create"])
        for r in synthesised.resources("Custom::AWS").values()
        if "putLifecyclePolicy" in r["Properties"]["Create"]
    ]
    assert calls == [
        {
            "action": "putLifecyclePolicy",
            "service": "ECR",
            "parameters": {
                "repositoryName": repository,
                "lifecyclePolicyText": json.dumps(lifecycle_policy()),
            },
            "physicalResourceId": {"id": f"lifecycle-{repository}"},
        }
    ]
    assert (
        repository
        == f"cdk-hnb659fds-container-assets-{synthesised.config.account}-{synthesised.config.region}"
    )


# -- network ----------------------------------------------------------------------------------------


def test_the_vpc_is_imported_and_the_database_admits_the_compute_on_its_port(
    synthesised: Synthesised,
) -> None:
    config = synthesised.config
    template = _template(synthesised)
    for created in ("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::NatGateway"):
        template.resource_count_is(created, 0)
    (group_id,) = synthesised.resources("AWS::EC2::SecurityGroup")
    group = synthesised.resources("AWS::EC2::SecurityGroup")[group_id]["Properties"]
    assert group["VpcId"] == config.network.vpc_id
    assert "SecurityGroupIngress" not in group  # nothing calls the compute
    compute = {"Fn::GetAtt": [group_id, "GroupId"]}
    port = config.database.port
    assert group["SecurityGroupEgress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "Snowflake and AWS APIs over HTTPS",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    (egress,) = synthesised.resources("AWS::EC2::SecurityGroupEgress").values()
    assert _without_description(egress) == {
        "DestinationSecurityGroupId": config.database.security_group_id,
        "FromPort": port,
        "GroupId": compute,
        "IpProtocol": "tcp",
        "ToPort": port,
    }
    (ingress,) = synthesised.resources("AWS::EC2::SecurityGroupIngress").values()
    assert _without_description(ingress) == {
        "FromPort": port,
        "GroupId": config.database.security_group_id,
        "IpProtocol": "tcp",
        "SourceSecurityGroupId": compute,
        "ToPort": port,
    }
    assert synthesised.template["Outputs"]["ComputeSecurityGroupId"]["Value"] == compute


def test_s3_gateway_endpoint_on_the_private_route_tables(synthesised: Synthesised) -> None:
    network = synthesised.config.network
    endpoints = list(synthesised.resources("AWS::EC2::VPCEndpoint").values())
    assert len(endpoints) == (1 if network.s3_gateway_endpoint else 0)
    for endpoint in endpoints:
        props = endpoint["Properties"]
        assert props["VpcEndpointType"] == "Gateway"
        assert props["RouteTableIds"] == network.private_subnet_route_table_ids
        assert ".s3" in json.dumps(props["ServiceName"])


def test_each_nat_gateways_public_ip_is_an_output_for_the_snowflake_allowlist(
    synthesised: Synthesised,
) -> None:
    outputs = synthesised.template["Outputs"]
    lookups = {
        k: json.loads(r["Properties"]["Create"])
        for k, r in synthesised.resources("Custom::AWS").items()
        if "describeNatGateways" in r["Properties"]["Create"]
    }
    looked_up = [call["parameters"]["NatGatewayIds"] for call in lookups.values()]
    assert sorted(looked_up) == sorted([nat] for nat in synthesised.config.network.nat_gateway_ids)
    ip_outputs = {k: v for k, v in outputs.items() if "NatPublicIp" in k}
    assert len(ip_outputs) == len(lookups)
    for output in ip_outputs.values():
        (lookup, field) = output["Value"]["Fn::GetAtt"]
        assert lookup in lookups and field == "NatGateways.0.NatGatewayAddresses.0.PublicIp"


# -- schedule, abnormal end, alarms, dashboard ------------------------------------------------------


def test_schedule_starts_the_state_machine_with_no_overrides(synthesised: Synthesised) -> None:
    schedule = synthesised.config.schedule
    _template(synthesised).has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": f"cron({schedule.cron})",
            "ScheduleExpressionTimezone": schedule.time_zone,
            "State": "ENABLED" if schedule.enabled else "DISABLED",
            "Target": Match.object_like(
                {
                    "Arn": {"Ref": synthesised.pipeline_machine_id()},
                    "Input": Match.serialized_json(c.SCHEDULE_INPUT),
                    "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 7200},
                    "DeadLetterConfig": Match.object_like({"Arn": Match.any_value()}),
                }
            ),
        },
    )


def test_abnormal_end_rules_invoke_the_cleanup_function_for_the_pipeline_machine(
    synthesised: Synthesised,
) -> None:
    """D19: executions that end outside the closing states still get cleanup (the rules' matching is
    evaluated in test_abnormal_end)."""
    cleanup = _function_with_handler(synthesised, c.ABNORMAL_END_HANDLER)
    rules = synthesised.resources("AWS::Events::Rule").values()
    assert len(rules) == 2
    for rule in rules:
        props = rule["Properties"]
        assert props["EventPattern"]["detail"]["stateMachineArn"] == [
            {"Ref": synthesised.pipeline_machine_id()}
        ]
        (target,) = props["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [cleanup, "Arn"]}
        assert target["InputTransformer"]["InputPathsMap"] == {
            "detail-name": "$.detail.name",
            "detail-executionArn": "$.detail.executionArn",
            "detail-input": "$.detail.input",
            "detail-status": "$.detail.status",
        }


def test_alarms_watch_runs_the_cleanup_and_the_dead_letter_queues_and_notify_the_topic(
    synthesised: Synthesised,
) -> None:
    """docs/runbook.md says what each alarm means; "no successful run in 26 h" only where the schedule
    runs the pipeline every night."""
    machine = {"Ref": synthesised.pipeline_machine_id()}
    cleanup = {"Ref": _function_with_handler(synthesised, c.ABNORMAL_END_HANDLER)}
    expected = {
        ("ExecutionsFailed", json.dumps(machine)),
        ("ExecutionsTimedOut", json.dumps(machine)),
        ("ExecutionsAborted", json.dumps(machine)),
        ("Errors", json.dumps(cleanup)),
        *(
            ("ApproximateNumberOfMessagesVisible", json.dumps({"Fn::GetAtt": [queue, "QueueName"]}))
            for queue in synthesised.resources("AWS::SQS::Queue")  # the two dead-letter queues
        ),
    }
    if synthesised.config.schedule.enabled:
        expected.add(("ExecutionsSucceeded", json.dumps(machine)))
    alarms = [a["Properties"] for a in synthesised.resources("AWS::CloudWatch::Alarm").values()]
    assert {(a["MetricName"], json.dumps(a["Dimensions"][0]["Value"])) for a in alarms} == expected
    (topic,) = synthesised.resources("AWS::SNS::Topic")
    for alarm in alarms:
        assert alarm["AlarmActions"] == [{"Ref": topic}]
        assert "docs/runbook.md" in alarm["AlarmDescription"]
        if alarm["MetricName"] == "ExecutionsSucceeded":
            assert alarm["Period"] * alarm["EvaluationPeriods"] == c.NO_SUCCESS_HOURS * 3600
            assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
            assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
            assert alarm["TreatMissingData"] == "breaching"  # an hour without success counts against it
        else:
            assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    subscriptions = synthesised.resources("AWS::SNS::Subscription").values()
    assert sorted(s["Properties"]["Endpoint"] for s in subscriptions) == sorted(
        synthesised.config.alarm_emails
    )
    assert "KmsMasterKeyId" in synthesised.template["Resources"][topic]["Properties"]


def test_dashboard_shows_every_steps_duration_and_the_pair_counts(synthesised: Synthesised) -> None:
    (dashboard,) = synthesised.resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == synthesised.config.state_machine_name
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for step in STEPS:
        assert f'\\"{step.name}.seconds\\"' in body, step.name
    for count in ("detect.inserted", "finalize.resolved", "detect.skipped_blank_ssn"):
        assert f'\\"{count}\\"' in body


# -- environment, secrets, permissions --------------------------------------------------------------


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
    for task in _task_definitions(synthesised).values():
        (container,) = task["Properties"]["ContainerDefinitions"]
        assert {e["Name"]: e["Value"] for e in container["Environment"]} == {
            **expected,
            c.ENV_REGION: config.region,
        }
        assert "Secrets" not in container
    # The one variable the state machine sets per task is the run payload (ids, context, overrides).
    overrides = [
        e
        for state in _all_states(synthesised.state_machine_definition())
        for o in state.get("Parameters", {}).get("Overrides", {}).get("ContainerOverrides", [])
        for e in o["Environment"]
    ]
    assert len(overrides) == sum(1 for s in STEPS if s.kind == "fargate")
    assert {json.dumps(e, sort_keys=True) for e in overrides} == {
        json.dumps(
            {"Name": c.ENV_PAYLOAD, "Value.$": f"States.JsonToString({c.RUN_PAYLOAD})"}, sort_keys=True
        )
    }
    text = json.dumps(expected)
    for secret_name in (config.secrets.source, config.secrets.target):
        assert secret_name not in text  # not even the names: those come from the config file


def test_snowflake_secret_only_for_preflight_explain_and_the_step_tasks(synthesised: Synthesised) -> None:
    """The closing Lambdas, the abnormal-end cleanup and the migration never open Snowflake."""
    tasks = _task_definitions(synthesised)
    secrets = synthesised.config.secrets
    assert _roles_reading_secret(synthesised, secrets.source) == {
        _step_role(synthesised, SHAPE.opening.name),
        _role_of(synthesised, _function_with_handler(synthesised, c.EXPLAIN_HANDLER)),
        _task_role(tasks["step"]),
    }
    assert _roles_reading_secret(synthesised, secrets.target) == {
        *(_role_of(synthesised, k) for k in _image_functions(synthesised)),
        _task_role(tasks["step"]),
        _task_role(tasks["migrate"]),
    }


def test_kms_decrypt_only_on_a_customer_key_through_secrets_manager(synthesised: Synthesised) -> None:
    """A secret under a customer-managed key needs kms:Decrypt on that key for each of its readers;
    AWS-managed keys need nothing."""
    secrets = synthesised.config.secrets
    expected: set[str] = set()
    for name, key in (
        (secrets.source, secrets.source_kms_key_arn),
        (secrets.target, secrets.target_kms_key_arn),
    ):
        if key is not None:
            expected |= _roles_reading_secret(synthesised, name)
    assert policies_granting(synthesised.template, "kms:Decrypt") == expected
    keys = {k for k in (secrets.source_kms_key_arn, secrets.target_kms_key_arn) if k}
    for role in expected:
        for statement in _statements(synthesised.template, role):
            if statement["Action"] == "kms:Decrypt":
                assert statement["Resource"] in keys
                assert statement["Condition"] == {
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{synthesised.config.region}.amazonaws.com"
                    }
                }


def test_only_report_and_cleanup_send_email_and_only_the_state_machines_run_tasks(
    synthesised: Synthesised,
) -> None:
    template = synthesised.template
    senders = {_step_role(synthesised, SHAPE.closing[-1].name), _cleanup_role(synthesised)}
    assert policies_granting(template, "ses:SendEmail") == senders
    sender = synthesised.config.email.sender
    for role in senders:
        (statement,) = [s for s in _statements(template, role) if "ses:SendEmail" in _as_list(s["Action"])]
        identities = {r.rsplit(":identity/", 1)[1] for r in statement["Resource"]}
        assert identities == {sender, sender.split("@", 1)[1]}
    machines = _machine_roles(synthesised)
    tasks = _task_definitions(synthesised)
    assert policies_granting(template, "ecs:RunTask") == set(machines.values())
    assert policies_granting(template, "iam:PassRole") == set(machines.values())
    for machine, task in (("pipeline", "step"), ("migrate", "migrate")):
        (run_task,) = [s for s in _statements(template, machines[machine]) if s["Action"] == "ecs:RunTask"]
        assert run_task["Resource"] == {"Ref": tasks[task]["id"]}


def test_only_preflight_and_cleanup_describe_executions_of_this_machine(synthesised: Synthesised) -> None:
    """D20: a later run asks whether the execution owning a run still runs; the cleanup leaves a
    redriven execution to its own closing states."""
    template = synthesised.template
    describers = {_step_role(synthesised, SHAPE.opening.name), _cleanup_role(synthesised)}
    assert policies_granting(template, "states:DescribeExecution") == describers
    for role in describers:
        (statement,) = [s for s in _statements(template, role) if s["Action"] == "states:DescribeExecution"]
        assert statement["Resource"].endswith(f":execution:{synthesised.config.state_machine_name}:*")


def test_outputs_name_what_an_operators_one_off_task_needs(synthesised: Synthesised) -> None:
    """`aws ecs run-task` of the step task definition with command `cli source check --target`
    (docs/runbook.md) needs the cluster, the task definition, the subnets and the security group."""
    outputs = synthesised.template["Outputs"]
    (cluster,) = synthesised.resources("AWS::ECS::Cluster")
    assert outputs["ClusterName"]["Value"] == {"Ref": cluster}
    assert outputs["StepTaskDefinitionArn"]["Value"] == {"Ref": _task_definitions(synthesised)["step"]["id"]}
    assert outputs["PrivateSubnetIds"]["Value"] == ",".join(synthesised.config.network.private_subnet_ids)
    (group,) = synthesised.resources("AWS::EC2::SecurityGroup")
    assert outputs["ComputeSecurityGroupId"]["Value"] == {"Fn::GetAtt": [group, "GroupId"]}
