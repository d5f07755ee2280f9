"""The report's inline SVG charts (visit_conflicts.svg): well-formed, escaped, scaled to a readable axis."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from visit_conflicts import svg


def test_axis_ends_on_a_readable_number() -> None:
    assert [svg.nice_ceiling(v) for v in (0, 0.7, 1, 3.2, 24.89, 180, 1001)] == [1, 1, 1, 5, 25, 200, 2000]


def test_gantt_is_well_formed_and_escapes_labels() -> None:
    spans = [
        svg.Span("preflight", 0.0, 0.5, 0),
        svg.Span("detect[0] <&>", 0.5, 8.0, 1, tooltip="a & b"),
        svg.Span("cleanup", 9.0, None, 2),  # still running: drawn to the axis end
        svg.Span("status", 8.5, 0.4, 3, failed=True),
    ]
    root = ET.fromstring(svg.gantt(spans))
    assert root.tag.endswith("svg")
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "detect[0] <&>" in texts and "10 s" in texts
    fills = [r.get("fill") for r in root.iter("{http://www.w3.org/2000/svg}rect")]
    assert svg.FAILED in fills


def test_bars_stack_or_group_every_series_with_a_legend() -> None:
    series = [("inserted", [3.0, 0.0], 0), ("updated", [1.0, 2.0], 1)]
    for stacked in (True, False):
        root = ET.fromstring(svg.bars(["12-01 06:00", "12-02 06:00"], series, stacked=stacked, unit="pairs"))
        titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
        assert titles == [
            "12-01 06:00: inserted 3 pairs",
            "12-01 06:00: updated 1 pairs",
            "12-02 06:00: updated 2 pairs",
        ]
        texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
        assert {"inserted", "updated", "pairs"} <= set(texts)
    assert svg.bars([], series, stacked=True, unit="s") == ""
