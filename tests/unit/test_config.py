"""D3: parameters are typed and validated; each kind of bad configuration has its own message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from visit_conflicts.config import ConfigError, Params, load_params


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    (tmp_path / "test.toml").write_text(
        'lookback_hours = 36\nchunks = 3\n[email]\nenabled = false\nsender = "${SENDER}"\n'
    )
    return tmp_path


def load(
    config_dir: Path, overrides: dict[str, Any] | None = None, env: dict[str, str] | None = None
) -> Params:
    return load_params(
        "test", overrides, config_dir=config_dir, env=env if env is not None else {"SENDER": "a@b.c"}
    )


def test_file_values_and_overrides_are_merged(config_dir: Path) -> None:
    """D3: the environment's file, then per-run overrides."""
    params = load(config_dir, {"chunks": 7})
    assert params.chunks == 7
    assert params.lookback_hours == 36
    assert params.email.sender == "a@b.c"
    assert params.environment == "test"


def test_unknown_key_is_named(config_dir: Path) -> None:
    """D3: unknown keys are rejected with the key's name."""
    with pytest.raises(ConfigError, match=r"lookback_hourz: unknown key"):
        load(config_dir, {"lookback_hourz": 5})


def test_unknown_nested_key_is_named(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"email\.smtp: unknown key"):
        load(config_dir, {"email": {"smtp": "x"}})


def test_wrong_type_is_named(config_dir: Path) -> None:
    """D3: wrong types are rejected (no silent coercion of '3' to 3)."""
    with pytest.raises(ConfigError, match=r"chunks: Input should be a valid integer"):
        load(config_dir, {"chunks": "3"})


@pytest.mark.parametrize(
    "key", ["lookback_hours", "lookback_years", "lookforward_days", "batch_size", "chunks"]
)
def test_non_positive_window_is_rejected(config_dir: Path, key: str) -> None:
    """D3: non-positive windows and sizes are rejected, naming the key."""
    with pytest.raises(ConfigError, match=rf"{key}: Input should be greater than 0"):
        load(config_dir, {key: 0})


def test_unresolved_placeholder_names_key_and_variable(config_dir: Path) -> None:
    """D3: `${...}` without a value in the environment is an error, not literal text."""
    with pytest.raises(ConfigError, match=r"email\.sender: \$\{SENDER\} is not set"):
        load(config_dir, env={})


def test_unknown_step_and_time_zone(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"steps: .*unknown step\(s\) \['detekt'\]"):
        load(config_dir, {"steps": ["detekt"]})
    with pytest.raises(ConfigError, match=r"business_timezone: .*unknown time zone"):
        load(config_dir, {"business_timezone": "Mars/Olympus"})


def test_since_needs_an_offset(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"since: .*time zone offset"):
        load(config_dir, {"since": "2026-11-01T00:00:00"})
    assert load(config_dir, {"since": "2026-11-01T00:00:00+00:00"}).since is not None


def test_chunk_subset_must_fit_chunks(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"chunk_subset \[5\] outside 0..2"):
        load(config_dir, {"chunk_subset": [5]})


def test_email_enabled_needs_recipients(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"email.*recipients is empty"):
        load(config_dir, {"email": {"enabled": True}})
    params = load(config_dir, {"email": {"enabled": True, "recipients": "a@x.org, b@x.org"}})
    assert params.email.recipients == ["a@x.org", "b@x.org"]


def test_missing_environment_file(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"no config file .*nope\.toml"):
        load_params("nope", config_dir=config_dir)


def test_shipped_environment_files_are_valid() -> None:
    """Every config/<env>.toml in the project validates (with its placeholders provided)."""
    from visit_conflicts.paths import CONFIG_DIR

    env = {"AWS_REGION": "us-east-1", "EMAIL_SENDER": "s@x.org", "EMAIL_RECIPIENTS": "r@x.org"}
    files = sorted(CONFIG_DIR.glob("*.toml"))
    assert files
    for path in files:
        load_params(path.stem, env=env)


def test_chunk_count_follows_the_delta_unless_fixed(config_dir: Path) -> None:
    """Issue 13: one chunk per target_groups_per_chunk groups, at least one, at most max_chunks; a fixed
    `chunks` wins."""
    params = load(config_dir, {"chunks": None, "target_groups_per_chunk": 1000, "max_chunks": 6})
    assert [params.chunk_count(g) for g in (0, 1, 1000, 1001, 5500, 10**9)] == [1, 1, 1, 2, 6, 6]
    assert params.planned_chunks() == list(range(6))  # what the Map may run before plan decided
    assert load(config_dir, {"chunks": 3}).chunk_count(10**9) == 3


def test_subset_or_steps_without_plan_need_a_fixed_chunk_count(config_dir: Path) -> None:
    """A rerun of selected chunks, or of detect/finalize without plan, cannot use plan's decision: it
    names the count of the run it repeats."""
    with pytest.raises(ConfigError, match=r"chunk_subset needs chunks"):
        load(config_dir, {"chunks": None, "chunk_subset": [1]})
    with pytest.raises(ConfigError, match=r"\['detect', 'finalize'\] without plan need chunks"):
        load(config_dir, {"chunks": None, "steps": ["detect", "finalize"]})
    assert load(config_dir, {"chunks": None, "steps": ["plan", "detect"]}).chunks is None
    assert load(config_dir, {"chunks": 4, "steps": ["detect"], "chunk_subset": [3]}).planned_chunks() == [3]
