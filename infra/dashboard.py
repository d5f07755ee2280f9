"""The CloudWatch dashboard of a deployment: per-step duration and the pairs written, resolved and
skipped per run, from the metrics the steps publish (`visit_conflicts.observability`: namespace
VisitConflicts, metric `<step>.seconds` and `<step>.<count>`), next to the executions' outcomes."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants as c
from visit_conflicts.pipeline import Step

# Counts of the pair-writing steps (store/detect.py's merge, finalize, inservice, status units).
_WRITTEN = ("detect.inserted", "detect.updated", "inservice.inserted", "inservice.updated")
_RESOLVED = ("finalize.resolved", "inservice.resolved", "status_a.cascade_resolve_cvm")
_SKIPPED = (
    "detect.skipped_invalid_visit_id",
    "detect.skipped_outside_window",
    "detect.skipped_blank_ssn",
    "detect.skipped_end_before_start",
)


def _metric(name: str, statistic: str, period: Duration) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=c.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": c.METRICS_SERVICE},
        statistic=statistic,
        period=period,
        label=name,
    )


class PipelineDashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        steps: Sequence[Step],
        state_machine: sfn.StateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        day = Duration.days(1)
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=dashboard_name, default_interval=Duration.days(14)
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Step duration (seconds, max per run; a mapped step: its slowest chunk)",
                left=[_metric(f"{s.name}.seconds", "Maximum", day) for s in steps],
                width=24,
                stacked=False,
            ),
            cloudwatch.GraphWidget(
                title="Pairs written per run",
                left=[_metric(name, "Sum", day) for name in _WRITTEN],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Pairs resolved per run",
                left=[_metric(name, "Sum", day) for name in _RESOLVED],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Source rows skipped per run (D23)",
                left=[_metric(name, "Sum", day) for name in _SKIPPED],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Executions",
                left=[
                    state_machine.metric_succeeded(period=day, statistic="Sum"),
                    state_machine.metric_failed(period=day, statistic="Sum"),
                    state_machine.metric_timed_out(period=day, statistic="Sum"),
                    state_machine.metric_aborted(period=day, statistic="Sum"),
                ],
                right=[state_machine.metric_time(period=day, statistic="Maximum")],
                width=24,
            ),
        )
