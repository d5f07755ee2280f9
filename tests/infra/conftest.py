"""Fixtures of the infra tests: each environment of cdk.json synthesised once per test session.

The jsii runtime (Node) prints an end-of-life banner for Node 20 unless told not to; the variable must
be set before aws_cdk is first imported.
"""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.infra.support import Synthesised, synthesise


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synthesised:
    return synthesise("dev", tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesised:
    return synthesise("prod", tmp_path_factory.mktemp("cdk-prod"))


@pytest.fixture(scope="session", params=["dev", "prod"])
def synthesised(request: pytest.FixtureRequest) -> Iterator[Synthesised]:
    """Each environment in turn (the session fixtures above synthesise it once)."""
    yield request.getfixturevalue(request.param)


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    return tmp_path / "cdk.out"
