"""The harness's outputs from its JSON result: the Markdown table (bench/RESULTS.md) and two PNG charts.

Charts (matplotlib, no display needed): step time against scale factor for the first load and the
incremental run, and the incremental run's PostgreSQL-bound steps beside the legacy algorithm and the
COPY floor, per scale factor.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any

# harness.py imports this module only inside its main(), after loading itself: no import cycle.
from bench.harness import GB_PER_SCALE

STEP_ORDER = (
    *("preflight", "staging", "plan", "detect", "finalize", "inservice", "status"),
    *("maintenance", "restore", "report"),
)


def _median_steps(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per step, the median of each numeric field over the runs (repetitions)."""
    out: dict[str, dict[str, Any]] = {}
    for step in STEP_ORDER:
        entries = [r["steps"][step] for r in runs if step in r["steps"]]
        if not entries:
            continue
        merged: dict[str, Any] = {}
        for field in (
            "seconds",
            "rows_read",
            "rows_written",
            "rows_per_second",
            "peak_rss_mb",
            "pg_busy_seconds",
        ):
            values = [e[field] for e in entries if e.get(field) is not None]
            merged[field] = statistics.median(values) if values else None
        out[step] = merged
    return out


def write_charts(data: dict[str, Any], charts_dir: Path) -> list[Path]:
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts_dir.mkdir(parents=True, exist_ok=True)
    scales = data["scales"]
    paths: list[Path] = []

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, (phase, title) in zip(
        axes, (("first_load", "first load"), ("incremental", "incremental run")), strict=True
    ):
        for step in STEP_ORDER:
            xs, ys = [], []
            for s in scales:
                runs = [s[phase]] if phase == "first_load" else s[phase]
                steps = _median_steps(runs)
                if step in steps and steps[step]["seconds"]:
                    xs.append(s["scale"])
                    ys.append(steps[step]["seconds"])
            if xs:
                ax.plot(xs, ys, marker="o", label=step)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("scale factor (1 = production)")
        ax.set_title(f"{title}: seconds per step")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("seconds (wall)")
    axes[1].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    path = charts_dir / "step_time_vs_scale.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)

    parts = ("merge", "stale cleanup", "status", "staging")
    fig, axes = plt.subplots(1, max(1, len(scales)), figsize=(5 * max(1, len(scales)), 4.5), squeeze=False)
    for ax, s in zip(axes[0], scales, strict=False):
        ratios = s["ratios"]
        ours = [ratios[p]["ours_seconds"] or 0 for p in parts]
        legacy = [ratios[p]["legacy_seconds"] or 0 for p in parts]
        x = range(len(parts))
        ax.bar([i - 0.2 for i in x], ours, width=0.4, label="ours (incremental run)")
        ax.bar([i + 0.2 for i in x], legacy, width=0.4, label="legacy algorithm")
        floor = ratios["merge"].get("copy_floor_seconds")
        if floor:
            ax.hlines(
                floor, -0.45, 0.45, colors="black", linestyles="dashed", label="raw COPY floor (merge rows)"
            )
        ax.set_xticks(list(x))
        ax.set_xticklabels(parts)
        ax.set_yscale("log")
        ax.set_title(f"SF {s['scale']:g}: seconds (log)")
        ax.grid(True, axis="y", which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    path = charts_dir / "incremental_vs_legacy.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)
    return paths


def _n(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and digits:
        return f"{value:,.{digits}f}"
    return f"{round(value):,}" if isinstance(value, int | float) else str(value)


def _gb(value: int | None) -> str:
    return "-" if value is None else f"{value / 1024**3:.2f}"


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares `seconds = fixed + per_scale * SF` through (SF, seconds) points (two or more SFs)."""
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if len(points) < 2 or sxx == 0:
        raise ValueError("a line needs two or more distinct scale factors")
    per_scale = sum((x - mx) * (y - my) for x, y in points) / sxx
    return my - per_scale * mx, per_scale


def extrapolation_lines(data: dict[str, Any], target: float = 1.0) -> list[str]:
    """The incremental run at `target` (SF 1) estimated from the measured scale factors: per step, a
    straight line through the medians (the night's delta grows linearly with the scale, and so does any
    O(table) part). An estimate, never a measurement; empty with fewer than two measured scales."""
    measured = [s for s in data["scales"] if s.get("incremental")]
    if len({s["scale"] for s in measured}) < 2 or any(s["scale"] >= target for s in measured):
        return []
    per_scale = {s["scale"]: _median_steps(s["incremental"]) for s in measured}
    refresh = {
        s["scale"]: statistics.median(
            r["steps"].get("maintenance", {}).get("counts", {}).get("view_refresh_seconds", 0.0)
            for r in s["incremental"]
        )
        for s in measured
    }
    totals = {s["scale"]: statistics.median(r["seconds"] for r in s["incremental"]) for s in measured}
    scales = sorted(per_scale)
    head = " | ".join(f"SF {x:g} s" for x in scales)
    lines = [
        "",
        f"## SF {target:g}, extrapolated (not measured)",
        "",
        f"SF {target:g} needs about {GB_PER_SCALE * target:.0f} GB of disk (bench/README.md) and was not "
        "measured here; the "
        f"incremental run at SF {target:g} is estimated: per step, a least-squares line "
        "`s = fixed + per SF x SF` through the medians measured above. The night's delta grows "
        "linearly with the scale (`generate --mutate`), and so does any part that is O(table).",
        "",
        f"| step | {head} | fixed s | s per SF | SF {target:g} estimate s |",
        "|---|" + "---|" * (len(scales) + 3),
    ]

    def row(name: str, values: dict[float, float]) -> tuple[str, float]:
        fixed, slope = fit_line([(x, values[x]) for x in scales])
        estimate = max(fixed + slope * target, 0.0)
        cells = " | ".join(_n(values[x], 2) for x in scales)
        # + 0.0 turns a rounded -0.0 into 0.0
        return f"| {name} | {cells} | {round(fixed, 2) + 0.0:.2f} | {slope:.2f} | {estimate:.1f} |", estimate

    for step in STEP_ORDER:
        if not all(step in per_scale[x] and per_scale[x][step]["seconds"] is not None for x in scales):
            continue
        lines.append(row(step, {x: per_scale[x][step]["seconds"] for x in scales})[0])
    total_line, total = row("**run**", totals)
    refresh_line, refresh_estimate = row("of which the payer view's refresh", refresh)
    without_refresh = max(total - refresh_estimate, 0.0)
    lines += [
        total_line,
        refresh_line,
        "",
        f"Estimated incremental run at SF {target:g}: {total:.0f} s ({total / 60:.1f} min); without the "
        f"payer view's refresh, which production leaves to pg_cron: {without_refresh:.0f} s "
        f"({without_refresh / 60:.1f} min). The target is 5 min.",
    ]
    return lines


# The steps a statement profile shows, in this order (the others are summed in the JSON).
PROFILED_STEPS = ("staging", "plan", "detect", "finalize", "inservice", "status", "maintenance")


def profile_lines(profile: dict[str, Any] | None) -> list[str]:
    """The statement profile of a scale factor (`--statement-profile`): per step, the server's logged
    seconds and its heaviest statements."""
    if not profile:
        return []
    if "error" in profile:
        return ["", f"Statement profile: not taken ({profile['error']})."]
    lines = [
        "",
        f"Where the server's time goes (`--statement-profile`: one more incremental run, not among the "
        f"measured ones, {profile['seconds']:.1f} s with every statement logged; the server's seconds per "
        "statement, the heaviest of each step; files under sql/postgres/):",
        "",
        "| step | logged s | heaviest statements: seconds (calls) |",
        "|---|---|---|",
    ]
    for step in PROFILED_STEPS:
        entry = profile["steps"].get(step)
        if entry is None:
            continue
        heaviest = "; ".join(
            f"`{x['statement']}` {x['seconds']:.2f} ({x['calls']})" for x in entry["statements"][:4]
        )
        lines.append(f"| {step} | {entry['logged_seconds']:.2f} | {heaviest} |")
    return lines


def write_markdown(data: dict[str, Any], report: Path, charts: list[Path], json_path: Path) -> None:
    m = data["machine"]
    rel = report.parent
    lines = [
        "# Production-volume harness: results",
        "",
        "Written by `bench/harness.py` (issue 13); how each number is taken is in its docstring and in",
        "[README.md](README.md#the-production-volume-harness). Scale factor 1 = production",
        "(~58M window visits).",
        "",
        f"- when: {data['when']}; commit: {data.get('git') or '-'}; command: `{data['command']}`",
        f"- machine: {m['cores']} cores, {m['ram_gib']} GiB RAM, PostgreSQL {m['postgresql']}, "
        f"Python {m['python']};",
        f"  load average {m['load_average']} at the start, {m.get('load_average_end')} at the end "
        "(a shared machine: other jobs ran beside the harness)",
        f"- JSON: `{json_path.name}` (bench/results/, not committed)",
        "",
    ]
    for chart in charts:
        try:
            link = chart.relative_to(rel)
        except ValueError:
            link = chart
        lines.append(f"![{chart.stem}]({link})")
    lines.append("")
    lines += [
        "## Data and disk per scale factor",
        "",
        "| SF | visits | generate s (visits/s) | CVM regular pairs | per window visit | pairs per parent "
        "| InService pairs | stream (pairs of the night) | disk: source GB | base DB GB | peak GB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in data["scales"]:
        g, v = s["generate"], s["first_load"]["volumes"]
        window = g["bulk"]["visits_in_window"]
        lines.append(
            f"| {s['scale']:g} | {_n(g['visits'])} | {g['seconds']} ({_n(g['visits_per_second'])}; "
            f"{_n(g['visits_per_cpu_second'])} per CPU s) | {_n(v['regular_pairs'])} | "
            f"{v['regular_pairs'] / window:.3f} | {v['regular_pairs'] / max(v['regular_parents'], 1):.2f} | "
            f"{_n(v['inservice_pairs'])} | {_n(s['prepare']['stream_pairs'])} | "
            f"{_gb(s['disk']['source_bytes'])} | "
            f"{_gb(s['disk']['base_database_bytes'])} | {_gb(s['disk'].get('peak_bytes'))} |"
        )
    for skipped in data.get("skipped", []):
        lines.append(f"| {skipped['scale']:g} | not measured: {skipped['reason']} | | | | | | | | | |")
    for s in data["scales"]:
        lines += ["", f"## SF {s['scale']:g}", ""]
        mutation = s["prepare"]["mutation"]
        lines.append(
            f"Night ({mutation['profile']}): {mutation['added_visits']:,} visits booked, "
            f"{mutation['moved']} moved, {mutation['missed']} missed, {mutation['deleted']:,} deleted, "
            f"{mutation['restamped']:,} re-saved."
            + (
                f" Measured after {len(s['warmup'])} warm-up night(s) (`--warm-nights`): the night right "
                "after the first load re-scopes everything the load wrote (its column below)."
                if s.get("warmup")
                else " Measured on the night right after the first load (`--warm-nights 0`)."
            )
        )
        lines += [
            "",
            "| step | first load s | first load peak RSS MB | night after the load s | incremental s "
            "| rows read | rows written | rows/s | peak RSS MB | PostgreSQL busy s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        first = _median_steps([s["first_load"]])
        warmup = s.get("warmup") or []
        after = _median_steps(warmup[:1]) if warmup else {}
        inc = _median_steps(s["incremental"])
        for step in STEP_ORDER:
            if step not in inc and step not in first:
                continue
            i = inc.get(step, {})
            lines.append(
                f"| {step} | {_n(first.get(step, {}).get('seconds'), 2)} | "
                f"{_n(first.get(step, {}).get('peak_rss_mb'))} | "
                f"{_n(after.get(step, {}).get('seconds'), 2)} | {_n(i.get('seconds'), 2)} | "
                f"{_n(i.get('rows_read'))} | {_n(i.get('rows_written'))} | {_n(i.get('rows_per_second'))} | "
                f"{_n(i.get('peak_rss_mb'))} | {_n(i.get('pg_busy_seconds'), 2)} |"
            )
        total_first = s["first_load"]["seconds"]
        total_after = warmup[0]["seconds"] if warmup else None
        total_inc = statistics.median(r["seconds"] for r in s["incremental"])
        lines.append(
            f"| **run** | {total_first} | {_n(s['first_load'].get('peak_rss_mb'))} | {_n(total_after, 2)} | "
            f"{total_inc} | | | | | |"
        )
        split = ("vacuum_seconds", "payer_view_seconds", "view_refresh_seconds")
        kept = [
            c
            for c in (r["steps"].get("maintenance", {}).get("counts", {}) for r in s["incremental"])
            if all(k in c for k in split)
        ]
        m = {k: statistics.median(c[k] for c in kept) for k in split} if kept else {}
        if m:
            lines += [
                "",
                f"Maintenance of the incremental run: VACUUM/ANALYZE {m['vacuum_seconds']:.2f} s, the "
                f"payer view's table (changed conflicts) {m['payer_view_seconds']:.2f} s, the view's refresh "
                f"(a copy and compare of the whole view, O(table)) {m['view_refresh_seconds']:.2f} s. The "
                "harness's "
                "server has no pg_cron, so the run refreshes the view itself; with an active pg_cron job "
                '(production) the default `payer_view_refresh = "cron"` leaves the refresh to the job.',
            ]
        lines += [
            "",
            "| PostgreSQL-bound step | ours s | legacy s | legacy / ours | legacy rows/s |",
            "|---|---|---|---|---|",
        ]
        for part, r in s["ratios"].items():
            legacy_rate = (
                statistics.median(
                    x[part]["rows_per_second"] for x in s["legacy"] if x[part]["rows_per_second"] is not None
                )
                if any(x[part]["rows_per_second"] is not None for x in s["legacy"])
                else None
            )
            measure = (
                "PostgreSQL busy time of detect" if r["ours_measure"] == "pg_busy_seconds" else r["ours_step"]
            )
            lines.append(
                f"| {part} ({measure}) | {_n(r['ours_seconds'], 2)} | {_n(r['legacy_seconds'], 2)} | "
                f"{_n(r['speedup'], 1)}x | {_n(legacy_rate)} |"
            )
        floor = statistics.median(f["seconds"] for f in s["floor"])
        rows = s["floor"][0]["rows"]
        lines.append(
            f"| raw binary COPY of the merge's {rows:,} rows, {s['floor'][0]['connections']} connections | "
            f"{floor:.2f} | | floor / ours merge: {_n(s['ratios']['merge']['floor_over_ours'], 2)} | "
            f"{_n(rows / floor if floor else None)} |"
        )
        lines += profile_lines(s.get("statement_profile"))
    lines += extrapolation_lines(data)
    lines += [
        "",
        "## Reproduce",
        "",
        "```",
        "make bench                     # SF 0.01, 0.1, 0.25 (what the disk allows), writes this file",
        "make bench BENCH_SCALES=0.01       # quick check; results in bench/results/ only",
        "```",
        "",
    ]
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join(lines))
