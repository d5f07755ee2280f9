"""Synthesising the app the way `cdk synth -c env=<env>` does, and reading the result.

The context is cdk.json's plus the selected environment, exactly what the CLI passes: every
environment imports its VPC from attributes, so no lookup (and no AWS call) happens. Creation stack
traces are turned off: they cost seconds per synth and nothing here reads them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App

import app as cdk_entry
from infra import constants as c
from infra.config import EnvironmentConfig, load_environment
from infra.stack import PipelineStack

CDK_JSON = c.REPO_ROOT / "cdk.json"


def cdk_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


def environment_config(environment: str) -> EnvironmentConfig:
    return load_environment(cdk_context(), environment)


def app_context(environment: str) -> dict[str, Any]:
    return {**cdk_context(), "env": environment, "aws:cdk:disable-stack-trace": True}


@dataclass
class Synthesised:
    environment: str
    config: EnvironmentConfig
    app: App
    stack: PipelineStack
    template: dict[str, Any]
    outdir: Path

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == resource_type}

    def state_machine_definition(
        self, resolve: Callable[[Mapping[str, Any]], str] | None = None
    ) -> dict[str, Any]:
        machine = self.resources("AWS::StepFunctions::StateMachine")[self.pipeline_machine_id()]
        return render_definition(machine["Properties"]["DefinitionString"], resolve or placeholder)

    def pipeline_machine_id(self) -> str:
        """The logical id of the pipeline's state machine (the other one is the migrate machine)."""
        (logical_id,) = [
            k
            for k, v in self.resources("AWS::StepFunctions::StateMachine").items()
            if v["Properties"]["StateMachineName"] == self.config.state_machine_name
        ]
        return logical_id


def synthesise(environment: str, outdir: Path) -> Synthesised:
    """Build and synthesise the stack of `environment` (validations, incl. cdk-nag, run here)."""
    app = App(context=app_context(environment), outdir=str(outdir))
    stack = cdk_entry.create_stack(app)
    assembly = app.synth()
    template = assembly.get_stack_by_name(stack.stack_name).template
    return Synthesised(environment, environment_config(environment), app, stack, template, outdir)


def placeholder(reference: Mapping[str, Any]) -> str:
    """`{"Ref": X}` -> "${X}", `{"Fn::GetAtt": [X, A]}` -> "${X.A}"."""
    if "Ref" in reference:
        return f"${{{reference['Ref']}}}"
    if "Fn::GetAtt" in reference:
        return f"${{{'.'.join(reference['Fn::GetAtt'])}}}"
    raise ValueError(f"unexpected CloudFormation expression in the definition: {reference}")


def render_definition(definition: Any, resolve: Callable[[Mapping[str, Any]], str]) -> dict[str, Any]:
    """The ASL document of a synthesised DefinitionString, CloudFormation references resolved."""
    if isinstance(definition, str):
        text = definition
    else:
        separator, parts = definition["Fn::Join"]
        text = separator.join(p if isinstance(p, str) else resolve(p) for p in parts)
    document: dict[str, Any] = json.loads(text)
    return document


def policies_granting(template: Mapping[str, Any], action: str) -> set[str]:
    """Logical ids of the roles whose inline policies allow `action` (exact action name or a wildcard)."""
    roles: set[str] = set()
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        statements = resource["Properties"]["PolicyDocument"]["Statement"]
        for statement in statements:
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if statement.get("Effect") == "Allow" and any(_matches(a, action) for a in actions):
                roles.update(r["Ref"] for r in resource["Properties"].get("Roles", []))
    return roles


def _matches(pattern: str, action: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return action.lower().startswith(pattern[:-1].lower())
    return pattern.lower() == action.lower()
