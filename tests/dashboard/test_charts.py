"""Server-side SVG charts: escaped, accessible, styled by class only."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from dashboard.charts import Series, chart

SVG = "{http://www.w3.org/2000/svg}"


def test_chart_is_well_formed_escaped_svg() -> None:
    """Labels are escaped, bars stack, a None in a line leaves a gap; no style attribute."""
    markup = chart(
        "c1",
        "Calls <today>",
        "A & B",
        ["09h", "<b>", "11h"],
        bars=[
            Series("answered", "s-answered", [1, 2, 0]),
            Series("lost", "s-abandoned", [1, 0, 0]),
        ],
        lines=[Series("rostered", "l-rostered", [1.0, None, 3.0])],
    )
    text = str(markup).replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1)
    root = ET.fromstring(text)  # noqa: S314 - our own markup
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Calls <today>"
    assert "style" not in text and "<b>" not in str(markup)
    bars = [r for r in root.iter(f"{SVG}rect") if "key" not in (r.get("class") or "")]
    assert [r.get("class") for r in bars] == ["s-answered", "s-abandoned", "s-answered"]
    assert root.find(f"{SVG}polyline") is None  # two single points, no line across the gap
    assert len(list(root.iter(f"{SVG}circle"))) == 2
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert ticks == ["0", "1", "2", "3", "4", "5"]  # the line reaches 3: a round 5


def test_empty_chart_still_renders() -> None:
    """No data: an axis from 0 to 1 and nothing else."""
    assert "<svg" in str(chart("c2", "t", "d", []))
