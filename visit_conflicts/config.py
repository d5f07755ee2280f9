"""Run parameters: one typed model shared by every step (D3).

Parameters come from the environment's config file (`config/<environment>.toml`), then per-run
overrides (the Step Functions execution input, or CLI options locally). `${NAME}` placeholders in the
file are replaced from the process environment. Everything is validated before any database is
touched: unknown keys, wrong types, non-positive windows and unresolved placeholders are rejected with
a message that names the key and says why.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from visit_conflicts.paths import CONFIG_DIR
from visit_conflicts.pipeline import STEP_SELECTORS

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


# A lower-case SQL identifier: schema and view names are refused unless they are one (never quoted blindly).
_IDENTIFIER = r"^[a-z_][a-z0-9_]{0,62}$"


class ConfigError(ValueError):
    """Bad configuration; `str()` names every offending key and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class EmailParams(_Strict):
    enabled: bool = False
    region: str = "us-east-1"
    sender: str = ""
    recipients: list[str] = Field(default_factory=list)
    subject_prefix: str = "Conflict Management Pipeline"

    @field_validator("recipients", mode="before")
    @classmethod
    def _split_recipients(cls, value: Any) -> Any:
        # A secret or environment variable carries the list as one comma-separated string.
        if isinstance(value, str):
            return [r.strip() for r in value.split(",") if r.strip()]
        return value

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> EmailParams:
        if self.enabled and (not self.sender or not self.recipients):
            raise ValueError("email.enabled is true but email.sender or email.recipients is empty")
        return self


class SourceParams(_Strict):
    database: str = "ANALYTICS"
    schema_name: str = Field(default="BI", alias="schema")
    # Name of the Secrets Manager secret (or env prefix locally) holding the Snowflake credentials.
    secret_name: str = "snowflake"

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class TargetParams(_Strict):
    schema_name: str = Field(default="conflict_dev", alias="schema", pattern=_IDENTIFIER)
    secret_name: str = "postgres"
    # Where the database is when the secret does not say (an RDS-managed secret holds only the user and
    # password); the secret's own values win.
    host: str | None = None
    port: int | None = Field(default=None, gt=0, lt=65536)
    dbname: str | None = None

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class Params(_Strict):
    """Every parameter of a run. Defaults are the legacy config.json values unless a decision says else."""

    environment: str = "local"
    business_timezone: str = "America/New_York"
    lookback_years: int = Field(default=2, gt=0)
    lookforward_days: int = Field(default=45, gt=0)
    lookback_hours: int = Field(default=36, gt=0)
    since: datetime | None = None
    batch_size: int = Field(default=5000, gt=0, le=1_000_000)
    # The detect chunk count. None (the default): plan decides it from the delta, one chunk per
    # `target_groups_per_chunk` groups, at most `max_chunks` (the Map concurrency of the state machine).
    # A number fixes it (reruns of selected chunks give the count of the run they repeat).
    chunks: int | None = Field(default=None, gt=0, le=1024)
    max_chunks: int = Field(default=8, gt=0, le=1024)
    target_groups_per_chunk: int = Field(default=50_000, gt=0)
    workers: int = Field(default=2, gt=0, le=64)
    # Attempts of a step (or chunk) in all when it fails transiently (visit_conflicts.errors), and the
    # base of the random exponential wait between them, in seconds.
    retry_attempts: int = Field(default=3, ge=1, le=10)
    retry_wait_seconds: float = Field(default=2.0, ge=0, le=60)
    steps: list[str] | None = None
    chunk_subset: list[int] | None = None
    enable_insert: bool = True
    # How the pair writer compares stored pairs (D11): "fingerprint" skips pairs whose stored fingerprint
    # is the incoming one (they never travel in full); "full" compares every stored pair in SQL (repair;
    # both give the same tables).
    merge_compare: Literal["fingerprint", "full"] = "fingerprint"
    enable_stale_cleanup: bool = True
    enable_inservice: bool = True
    inservice_scope: Literal["delta", "window"] = "delta"
    enable_phase_b: bool = True
    # Status management units to run (all when empty; legacy "only_steps"); not the pipeline's `steps`.
    status_units: list[str] = Field(default_factory=list)
    status_scope: Literal["delta", "window"] = "delta"
    # The delta scope probes an index per candidate pair; when a phase's seed pairs (those written,
    # resolved or changed since the cutoff, D16) exceed both this share of the pair table and
    # `status_delta_min_rows`, as after a first load or a bulk refresh, the phase runs the window pass
    # instead, which reads the table once (same end state, D16). A share of 1 keeps the delta scope.
    status_delta_max_share: float = Field(default=0.2, gt=0, le=1)
    status_delta_min_rows: int = Field(default=50_000, ge=0)
    # How the staging step refreshes conflictlog_staging (D17): "delta" applies the changes logged since
    # the last refresh; "rebuild" rebuilds it from the conflict tables (repair). Same table either way.
    staging_mode: Literal["delta", "rebuild"] = "delta"
    # How the payer view's table is brought up to date before the view refresh (migration 0034): "delta"
    # computes the conflicts changed since the last run again; "rebuild" computes all (repair).
    payer_view_mode: Literal["delta", "rebuild"] = "delta"
    # Who refreshes the payer view after it: "cron" (the pg_cron job, when preflight found it active;
    # the run otherwise) or "run" (the run, concurrently, the legacy postflight's moment). The refresh
    # copies and compares the whole view (O(table): ~2 s per 75K view rows concurrently, minutes at
    # production volume), so by default it stays off the run's path; the content is exact whoever
    # refreshes it (migration 0034), and the job's next refresh shows the run.
    payer_view_refresh: Literal["run", "cron"] = "cron"
    pg_cron_job_name: str = "refresh_mv_payer_conflicts_common"
    # The conflict history (`conflict_event`, migration 0035) keeps this many days of events (by the
    # run's clock); the maintenance step purges older ones.
    event_retention_days: int = Field(default=400, gt=0)
    # `visit-conflicts run --dry-run`: every work step runs in one transaction that is rolled back, the
    # ledger row is marked and keeps what would have changed. Only the local runner can run it (it owns
    # that transaction); preflight refuses it anywhere else.
    dry_run: bool = False
    materialized_view_name: str = Field(
        default="mv_payer_conflicts_common", pattern=r"^[a-z_][a-z0-9_]{0,62}$"
    )
    required_tables: list[str] = Field(
        default_factory=lambda: [
            "conflicts",
            "conflictvisitmaps",
            "conflictlog_staging",
            "settings",
            "excluded_agency",
            "excluded_ssn",
            "mph",
            "payer_provider_reminders",
        ]
    )
    idle_in_progress_flag: int = 0
    email: EmailParams = Field(default_factory=EmailParams)
    source: SourceParams = Field(default_factory=SourceParams)
    target: TargetParams = Field(default_factory=TargetParams)

    @field_validator("business_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("since")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("since must carry a time zone offset, e.g. 2026-11-20T06:00:00+00:00")
        return value

    @field_validator("steps")
    @classmethod
    def _known_steps(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            unknown = [s for s in value if s not in STEP_SELECTORS]
            if unknown:
                raise ValueError(f"unknown step(s) {unknown}; known: {', '.join(STEP_SELECTORS)}")
            if not value:
                raise ValueError("steps must name at least one step")
        return value

    @field_validator("chunk_subset")
    @classmethod
    def _non_negative(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(c < 0 for c in value):
            raise ValueError("chunk numbers start at 0")
        return value

    @model_validator(mode="after")
    def _chunks_in_range(self) -> Params:
        if self.chunk_subset is not None:
            if self.chunks is None:
                raise ValueError(
                    "chunk_subset needs chunks: give the chunk count of the run whose chunks are "
                    "repeated (its report shows it as plan's chunk_count)"
                )
            outside = [c for c in self.chunk_subset if c >= self.chunks]
            if outside:
                raise ValueError(
                    f"chunk_subset {outside} outside 0..{self.chunks - 1} (chunks={self.chunks})"
                )
        if self.chunks is None and self.steps is not None and "plan" not in self.steps:
            chunked = sorted({"detect", "finalize"}.intersection(self.steps))
            if chunked:
                raise ValueError(
                    f"steps {chunked} without plan need chunks: plan decides the chunk count only "
                    "when it runs; give the chunk count of the run being repeated"
                )
        return self

    def planned_chunks(self) -> list[int]:
        """The chunk numbers a run may detect before plan has run: the requested subset, all chunks of
        a fixed count, or, when plan decides the count, every chunk up to `max_chunks` (chunks beyond
        plan's count are skipped; the decided list is `store.plan.chunk_plan`)."""
        if self.chunk_subset is not None:
            return sorted(self.chunk_subset)
        return list(range(self.chunks if self.chunks is not None else self.max_chunks))

    def chunk_count(self, groups: int) -> int:
        """The chunk count for a delta of `groups` groups: the fixed `chunks`, else one chunk per
        `target_groups_per_chunk` groups (at least one), at most `max_chunks`."""
        if self.chunks is not None:
            return self.chunks
        return max(1, min(self.max_chunks, -(-groups // self.target_groups_per_chunk)))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.business_timezone)


def params_of_run(recorded: dict[str, Any]) -> Params:
    """The parameters a run was opened with, as the ledger recorded them (`pipeline_run.params`)."""
    try:
        return Params.model_validate_json(json.dumps(recorded))
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc)) from None


def _substitute(value: Any, path: str, unresolved: list[str], env: dict[str, str]) -> Any:
    """Replace `${NAME}` in strings; remember the keys whose placeholders have no value."""
    if isinstance(value, str):

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in env:
                unresolved.append(f"{path}: ${{{name}}} is not set in the environment")
                return m.group(0)
            return env[name]

        return _PLACEHOLDER.sub(repl, value)
    if isinstance(value, dict):
        return {k: _substitute(v, f"{path}.{k}" if path else k, unresolved, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, f"{path}[{i}]", unresolved, env) for i, v in enumerate(value)]
    return value


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(parameters)"
        reason = err["msg"]
        if err["type"] == "extra_forbidden":
            reason = "unknown key"
        lines.append(
            f"{key}: {reason} (got {err.get('input')!r})" if err["type"] != "missing" else f"{key}: {reason}"
        )
    return "invalid parameters: " + "; ".join(lines)


def config_path(environment: str, config_dir: Path = CONFIG_DIR) -> Path:
    if not re.fullmatch(r"[a-z0-9_-]+", environment):
        raise ConfigError(f"environment: {environment!r} is not a valid environment name")
    return config_dir / f"{environment}.toml"


def _coerce_strings(data: dict[str, Any]) -> dict[str, Any]:
    """`since` arrives as text from TOML/JSON/CLI; parse it here so the model can stay strict."""
    if isinstance(data.get("since"), str):
        try:
            data = {**data, "since": datetime.fromisoformat(data["since"])}
        except ValueError as exc:
            raise ConfigError(f"since: {exc} (got {data['since']!r})") from exc
    return data


def load_params(
    environment: str = "local",
    overrides: dict[str, Any] | None = None,
    *,
    config_dir: Path = CONFIG_DIR,
    env: dict[str, str] | None = None,
) -> Params:
    """The validated parameters of a run: config file of `environment`, then `overrides`."""
    path = config_path(environment, config_dir)
    if not path.exists():
        raise ConfigError(f"environment: no config file {path} for environment {environment!r}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML ({exc})") from exc
    unresolved: list[str] = []
    data = _substitute(raw, "", unresolved, dict(os.environ) if env is None else env)
    if unresolved:
        raise ConfigError("unresolved placeholders: " + "; ".join(unresolved))
    data = _merge({"environment": environment, **data}, overrides or {})
    data = _coerce_strings(data)
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc)) from None
