"""The console's charts: server-side SVG from pygal, each served as an image of its own.

Each chart is drawn from the same figures as the table beside it (kopecks, shown as roubles),
so a screen reader reads the table and a sighted person the picture, and they never disagree.
pygal takes numbers to place bars; they get roubles as Decimal (kopecks / 100, exact), and
every label pygal writes goes through `wording.roubles`, so no float is shown as money.

Why images and not SVG inlined in the page: pygal styles its SVG with a <style> element, and
the pages' Content-Security-Policy allows no inline style (style-src 'self'). A chart served as
its own image/svg+xml document, under a policy of its own that allows its own style and nothing
else (no script: pygal's tooltips would load JavaScript from elsewhere, `js=[]` turns that
off), keeps the pages' policy whole. The page gives each <img> its alt text and the table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

import pygal
from flask import Blueprint, Response
from markupsafe import escape
from pygal.style import Style

from bonus_service.web import wording

blp = Blueprint("console_charts", __name__, url_prefix="/console/charts")
CONFIG_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S)
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"

# the pages' own palette (pages.css): old in grey, new in the brand's red, then others
STYLE = Style(
    background="#ffffff", plot_background="#ffffff", foreground="#1d1d1f",
    foreground_strong="#1d1d1f", foreground_subtle="#5f6368", opacity="0.9",
    opacity_hover="1", colors=("#8c959f", "#c0392b", "#1a5fb4", "#1e7b34", "#8250df"),
    font_family="system-ui, sans-serif", label_font_size=13, major_label_font_size=13,
    legend_font_size=14, title_font_size=16, value_font_size=12,
)  # fmt: skip


def bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> str:
    """A bar chart, one group per label, one bar per series (kopecks): an SVG document."""
    chart = pygal.Bar(
        title=title, style=STYLE, js=[], width=720, height=380, legend_at_bottom=True,
        legend_at_bottom_columns=min(len(series), 3), truncate_label=-1, truncate_legend=-1,
        value_formatter=_roubles, x_label_rotation=0 if len(labels) <= 6 else 30,
        no_data_text="Нет данных", margin=16,
    )  # fmt: skip
    chart.x_labels = list(labels)
    for name, kopecks in series:
        chart.add(name, [_exact(k) for k in kopecks])
    return _labelled(chart.render(is_unicode=True), title)


def svg_response(svg: str) -> Response:
    response = Response(svg, mimetype="image/svg+xml")
    response.headers.update({"Content-Security-Policy": SVG_POLICY, "Cache-Control": "no-store",
                             "X-Content-Type-Options": "nosniff"})  # fmt: skip
    return response


def _exact(kopecks: int) -> Decimal:
    return Decimal(kopecks) / 100


def _roubles(value) -> str:
    """A value pygal shows (an axis tick or a bar), said as the tables say money."""
    kopecks = int((Decimal(str(value)) * 100).to_integral_value())
    return wording.roubles(kopecks)


def _labelled(svg: str, title: str) -> str:
    """The SVG with an accessible name: role img, aria-label and a <title> first; without the
    inline <script> pygal always writes (its tooltips' settings, of no use with `js=[]`, and
    never run in an image anyway)."""
    svg = CONFIG_SCRIPT.sub("", svg)
    named = escape(title)
    head, rest = svg.split("<svg ", 1)
    opening, body = rest.split(">", 1)
    return (f'{head}<svg role="img" aria-label="{named}" {opening}>'
            f"<title>{named}</title>{body}")  # fmt: skip
