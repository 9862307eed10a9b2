"""Server-rendered SVG charts (pygal) for the dashboard tables.

Each chart is drawn from its :class:`~lms.reports.tables.ReportTable`, which the page shows
next to it as the accessible alternative (the chart is ``role="img"`` with a label). The SVG
is inlined in the page: pygal escapes every text it writes (labels and titles go into an
element tree), and :func:`_clean` removes the configuration ``<script>`` pygal adds even
without JavaScript, so the output holds no script and is safe to mark up as is. Its
``<style>`` is scoped to the chart's id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import pygal
from flask_babel import format_date
from flask_babel import gettext as _
from markupsafe import Markup
from pygal.style import Style

from lms.reports.tables import ReportTable

FONTS = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", '
    '"WenQuanYi Micro Hei", system-ui, sans-serif'
)

#: One look for every chart: CJK-capable fonts, a colour-blind-safe palette (Okabe-Ito).
STYLE = Style(
    font_family=FONTS,
    background="transparent",
    plot_background="transparent",
    foreground="rgba(0, 0, 0, .87)",
    foreground_strong="rgba(0, 0, 0, 1)",
    foreground_subtle="rgba(0, 0, 0, .6)",
    colors=("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"),
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    value_font_size=13,
    opacity=".85",
    opacity_hover="1",
    transition="0ms",
)

Series = Sequence[tuple[str, Sequence[float | None]]]


def _clean(label: str) -> Callable[[Any], Any]:
    """An XML filter: no script, and the root named for assistive technology."""

    def apply(root: Any) -> Any:
        for parent in list(root.iter()):
            for child in list(parent):
                if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                    parent.remove(child)
        root.set("role", "img")
        root.set("aria-label", label)
        return root

    return apply


def _render(chart: Any, label: str, labels: Sequence[str], series: Series) -> Markup:
    chart.x_labels = list(labels)
    for name, values in series:
        chart.add(name, list(values))
    chart.add_xml_filter(_clean(label))
    return Markup(chart.render(is_unicode=True))  # noqa: S704 (see the module docstring)


def _options(**extra: Any) -> dict[str, Any]:
    return {
        "style": STYLE,
        "js": [],
        "disable_xml_declaration": True,
        "width": 640,
        "height": 360,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 1,
        "truncate_legend": -1,
        "truncate_label": -1,
        "print_zeroes": False,
        "no_data_text": _("No data"),
        **extra,
    }


def bar_chart(
    label: str,
    labels: Sequence[str],
    series: Series,
    *,
    horizontal: bool = False,
    stacked: bool = False,
) -> Markup:
    """A bar chart (stacked and/or horizontal), one group per label."""
    kind = {
        (False, False): pygal.Bar,
        (False, True): pygal.StackedBar,
        (True, False): pygal.HorizontalBar,
        (True, True): pygal.HorizontalStackedBar,
    }[(horizontal, stacked)]
    height = max(240, 48 * len(labels) + 120) if horizontal else 360
    return _render(kind(**_options(height=height)), label, labels, series)


def line_chart(label: str, labels: Sequence[str], series: Series) -> Markup:
    """A line chart over time, every third label shown."""
    chart = pygal.Line(
        **_options(
            x_label_rotation=30,
            show_minor_x_labels=False,
            x_labels_major_every=3,
            dots_size=3,
        )
    )
    return _render(chart, label, labels, series)


def _value_columns(table: ReportTable, first: str) -> list[Any]:
    return [c for c in table.columns if c.key != first and not c.key.endswith("_target")]


def _breakdown_chart(table: ReportTable) -> Markup | None:
    """People per tier and member (partner, district, ...): horizontal bars."""
    first = table.columns[0].key
    if not table.rows:
        return None
    columns = _value_columns(table, first)
    labels = [str(row.cells[first]) for row in table.rows]
    series = [(c.label, [row.cells.get(c.key) or 0 for row in table.rows]) for c in columns]
    return bar_chart(table.title, labels, series, horizontal=True)


def _per_year(table: ReportTable, columns: Sequence[tuple[str, str]]) -> tuple[list[str], Series]:
    """One series per ``(key, label)`` column: its sum over each year's rows, years
    ascending."""
    years = sorted({row.cells["year"] for row in table.rows})
    sums: dict[tuple[Any, str], float] = {}
    for row in table.rows:
        for key, _label in columns:
            slot = (row.cells["year"], key)
            sums[slot] = sums.get(slot, 0) + float(row.cells.get(key) or 0)
    series = [(label, [sums.get((y, key), 0) for y in years]) for key, label in columns]
    return [str(y) for y in years], series


def _issued_chart(table: ReportTable) -> Markup | None:
    if not table.rows:
        return None
    kinds = [(c.key, c.label) for c in table.columns if c.key in ("issue", "renewal", "reissue")]
    labels, series = _per_year(table, kinds)
    return bar_chart(table.title, labels, series, stacked=True)


def _by_year_and(table: ReportTable, group: str, value: str) -> tuple[list[str], Series]:
    """One series per value of ``group`` (e.g. each track), ``value`` per year."""
    years = sorted({row.cells["year"] for row in table.rows})
    names = list(dict.fromkeys(str(row.cells[group]) for row in table.rows))
    found = {(row.cells["year"], str(row.cells[group])): row.cells[value] for row in table.rows}
    series = [(name, [float(found.get((y, name)) or 0) for y in years]) for name in names]
    return [str(y) for y in years], series


def _training_chart(table: ReportTable) -> Markup | None:
    if not table.rows:
        return None
    labels, series = _by_year_and(table, "track", "course")
    label = _("Course completions per year by track")
    return bar_chart(label, labels, series)


def _ce_chart(table: ReportTable) -> Markup | None:
    if not table.rows:
        return None
    labels, series = _by_year_and(table, "kind", "hours")
    return bar_chart(table.title, labels, series, stacked=True)


def _trend_chart(table: ReportTable) -> Markup | None:
    days: list[date] = [row.cells["day"] for row in table.rows]
    labels = [format_date(d, "short") for d in days]
    series = [(c.label, [row.cells[c.key] for row in table.rows]) for c in table.columns[1:]]
    return line_chart(table.title, labels, series)


#: Table key -> its chart (tables without one are shown alone).
CHARTS: dict[str, Callable[[ReportTable], Markup | None]] = {
    "issued_by_year": _issued_chart,
    "by_partner": _breakdown_chart,
    "by_district": _breakdown_chart,
    "by_employer_kind": _breakdown_chart,
    "by_programme": _breakdown_chart,
    "training_volume": _training_chart,
    "ce_hours": _ce_chart,
    "trend": _trend_chart,
}


def chart_for(table: ReportTable) -> Markup | None:
    """The SVG chart of a dashboard table, or None."""
    draw = CHARTS.get(table.key)
    return draw(table) if draw else None
