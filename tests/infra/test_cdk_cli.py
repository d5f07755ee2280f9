"""The documented command works as written from the project, with no AWS credentials: the real CDK CLI
(pinned in package.json, installed by `make`) runs cdk.json's app command (the project's venv) and
synthesises one environment into cdk.out, offline and without Docker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra import constants as c

CDK = c.REPO_ROOT / "node_modules" / ".bin" / "cdk"


def test_the_cdk_cli_synthesises_an_environment_without_credentials(tmp_path: Path) -> None:
    if not CDK.exists():
        pytest.fail("the pinned CDK CLI is missing: run `make test` (it runs `npm ci`)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        HOME=str(tmp_path),  # no ~/.aws, no ~/.cdk cache
        CDK_DISABLE_VERSION_CHECK="1",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    )
    out = tmp_path / "cdk.out"
    done = subprocess.run(
        [str(CDK), "synth", "-c", "env=dev", "--quiet", "--no-notices", "--output", str(out)],
        cwd=c.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    template = json.loads((out / "VisitConflicts-dev.template.json").read_text())
    types = {r["Type"] for r in template["Resources"].values()}
    assert {"AWS::StepFunctions::StateMachine", "AWS::ECS::TaskDefinition"} <= types
    assert not list(out.glob("*.context.json"))  # no lookup was needed
    shutil.rmtree(out)
