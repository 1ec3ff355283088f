"""A report's charts as inline SVG, drawn on the server so the report pages and the PDF
show the same picture with no JavaScript and nothing fetched."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import pygal
from pygal.style import Style

from services.reporting.tables import Chart

# GOV.UK Frontend's blue, orange, green, purple, red, then turquoise, pink and brown:
# people reading public-service reports know them, and they hold contrast on white.
COLOURS = ("#1d70b8", "#f47738", "#00703c", "#4c2c92", "#d4351c", "#28a197", "#d53880", "#b58840")
_FONTS = "Arial, Helvetica, 'Liberation Sans', 'DejaVu Sans', sans-serif"

_STYLE = Style(
    font_family=_FONTS,
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#0b0c0c",
    foreground_strong="#0b0c0c",
    foreground_subtle="#505a5f",
    colors=COLOURS,
    opacity="1",  # pygal's default .7 washes the colours out below readable contrast
    opacity_hover="1",
    # 800 units wide shrinks to A4's text width: 15 comes out near 9pt on paper.
    title_font_size=20,
    legend_font_size=15,
    label_font_size=15,
    major_label_font_size=15,
    value_font_size=12,
    guide_stroke_color="#b1b4b6",  # GOV.UK mid-grey: guides behind the bars, not over them
    major_guide_stroke_color="#b1b4b6",
)

_SVG = "{http://www.w3.org/2000/svg}"  # element names carry it when lxml is installed
WIDTH = 800
_MARGIN = 16
_PLOT_WIDTH = WIDTH - 100  # less the value axis and margins
_BAR_ROW = 44  # height per label on a horizontal chart, so long need names stay legible


def svg(chart: Chart, *, nonce: str | None = None) -> str:
    """The chart as an `<svg>` element to put straight into HTML or a WeasyPrint page.

    Its colours and fonts are in a `<style>` inside it. A page whose
    Content-Security-Policy has no style-src 'unsafe-inline' (casework's falls back to
    'self') draws it as a black box unless the response's CSP nonce is passed here.

    Horizontal charts group their bars (the needs chart: "Answered" is read against
    "Identified"); vertical ones stack them (referrals per month: the month's total,
    split by team, is what a reader looks for, and 12 x 5 side-by-side bars are not).
    """
    kind = pygal.HorizontalBar if chart.horizontal else pygal.StackedBar
    legend = len(chart.series) > 1 or chart.horizontal
    columns = _legend_columns(chart)
    room = _legend_height_pygal_misses(len(chart.series), columns) if legend else 0
    plot = kind(
        style=_STYLE,
        title=chart.title,
        width=WIDTH,
        height=_height(chart),
        js=[],  # pygal's tooltips load a script from its CDN
        disable_xml_declaration=True,  # it is an element inside a page, not a file
        legend_at_bottom=True,
        legend_at_bottom_columns=columns,
        truncate_legend=-1,  # whole team names, never "Comm…"
        truncate_label=-1,
        x_label_rotation=30 if _crowded(chart) else 0,
        y_labels=_ticks(_largest(chart)),  # whole numbers: half a referral is nonsense
        value_formatter=lambda value: f"{value:,.0f}",
        show_legend=legend,
        margin=_MARGIN,
        margin_bottom=_MARGIN + room,
    )
    # pygal draws a horizontal chart's first label at the bottom: reverse it so the chart
    # reads top to bottom in the table's order.
    order = slice(None, None, -1) if chart.horizontal else slice(None)
    plot.x_labels = chart.labels[order]
    for name, values in chart.series.items():
        plot.add(name, values[order])
    plot.add_xml_filter(_accessible)  # not a config key: pygal drops unknown ones silently
    if nonce is not None:
        plot.add_xml_filter(partial(_allow_style, nonce=nonce))
    return plot.render(is_unicode=True)


def _largest(chart: Chart) -> int:
    """The longest bar: the tallest stack when stacked, the biggest value when grouped."""
    columns = list(zip(*chart.series.values(), strict=True))
    if chart.horizontal:
        return max((max(column) for column in columns), default=0)
    return max((sum(column) for column in columns), default=0)


def _ticks(top: int) -> list[int]:
    """Up to about six whole-number steps of 1, 2 or 5 x 10^n from 0 past `top`."""
    if top <= 0:
        return [0, 1]
    rough = top / 5
    magnitude = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    return list(range(0, math.ceil(top / step) * step + 1, step))


def _crowded(chart: Chart) -> bool:
    """Whether a vertical chart's labels, side by side, would run into each other."""
    if chart.horizontal or not chart.labels:
        return False
    longest = max(_text_width(label, _STYLE.label_font_size) for label in chart.labels)
    return longest > _PLOT_WIDTH / len(chart.labels)


def _legend_columns(chart: Chart) -> int:
    """Up to three series names a row, fewer when they are long: pygal gives each
    column an equal share of the width and lets a longer name run into the next."""
    longest = max((_text_width(name, _STYLE.legend_font_size) for name in chart.series), default=0)
    return max(1, min(3, int(_PLOT_WIDTH // (longest + 20))))  # 20: the colour box


def _text_width(text: str, size: int) -> float:
    return len(text) * 0.55 * size  # a sans-serif letter is about half as wide as high


def _legend_height_pygal_misses(series: int, columns: int) -> int:
    """The height pygal 3.1.3 forgets: it makes room for series // columns legend rows,
    not the ceiling, so a last part-filled row would be cut off."""
    row = 1.5 * max(_STYLE.legend_font_size, 12)  # pygal's row: 1.5 x font or 12px box
    return math.ceil((math.ceil(series / columns) - series // columns) * row)


def _height(chart: Chart) -> int:
    if chart.horizontal:
        return max(300, 160 + _BAR_ROW * len(chart.labels))
    return 420


def _allow_style(root: Any, nonce: str) -> Any:
    for style in root.iter():
        if style.tag in ("style", f"{_SVG}style"):
            style.set("nonce", nonce)
    return root


def _accessible(root: Any) -> Any:
    """Drop what pygal adds for its tooltips and make the title the image's name.

    pygal writes its config as a `<script>` even when `js=[]`: an inline script in an
    HTML page would need a CSP exception, and it does nothing without the tooltip code.
    """
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in ("script", f"{_SVG}script"):
                parent.remove(child)
            elif child.get("id", "").startswith("activate-serie-"):
                del child.attrib["id"]  # the same in every chart: ids must be unique in a page
    title = next(child for child in root if child.tag in ("title", f"{_SVG}title"))
    title.set("id", f"{root.get('id')}-title")
    # A screen reader announces an SVG by its first <title>; role and label make sure.
    root.remove(title)
    root.insert(0, title)
    root.set("role", "img")
    root.set("aria-labelledby", title.get("id"))
    return root
