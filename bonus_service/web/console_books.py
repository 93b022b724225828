"""The books in pictures (/console/books): for marketing and supervisors.

Outstanding bonuses, accrued, spent and burned per month over the last 12 months
(services/books.py, from the ledger), and what burns in each coming month if nobody orders
again (services/liability.py, the liability report). Each chart is an SVG image drawn by pygal
(web/charts.py) with its numbers in a table beside it. Months are BONUS_TIMEZONE's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, render_template
from werkzeug.exceptions import NotFound

from bonus_service import program
from bonus_service.app_db import unit_of_work
from bonus_service.clock import utcnow
from bonus_service.services import books, liability
from bonus_service.web import charts
from bonus_service.web.console import blp, operator_required, role_required

BOOKS_PAGES = role_required("marketing", "supervisor")
MONTHS = 12
MONTH_NAMES = ("", "янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя",
               "дек")  # fmt: skip


@dataclass(frozen=True)
class Books:
    months: list[books.Month]
    owed: liability.Liability

    @property
    def burns(self) -> list[liability.Burn]:
        """The burn forecast as drawn: already due, then each coming month."""
        return [self.owed.due, *self.owed.months]


def figures(now: datetime) -> Books:
    zone = current_app.extensions["bonus_settings"].tz
    with unit_of_work(write=False) as db_session:
        months = books.monthly(db_session, now, zone, MONTHS)
        owed = liability.liability(db_session, program.in_force(now), now, MONTHS)
    return Books(months, owed)


def month_name(start: datetime | None) -> str:
    """«дек 2026»: short enough for twelve labels under a chart at 360 px."""
    if start is None:
        return "уже пора"
    return f"{MONTH_NAMES[start.month]} {start.year}"


@blp.get("/books")
@operator_required
@BOOKS_PAGES
def books_page():
    return render_template("console_books.html", books=figures(utcnow()), month_name=month_name,
                           charts=CHARTS)  # fmt: skip


CHARTS = {  # name → (title, alt text)
    "outstanding": "Бонусы на счетах гостей на конец месяца",
    "movements": "Начислено, потрачено и сгорело по месяцам",
    "burns": "Сгорит, если гости не сделают заказ, по месяцам",
}


@charts.blp.get("/books/<string:name>.svg")
@operator_required
@BOOKS_PAGES
def books_chart(name: str):
    if name not in CHARTS:
        raise NotFound()
    found = figures(utcnow())
    labels = [month_name(m.starts_at) for m in found.months]
    if name == "outstanding":
        series = [("На счетах", [m.closing for m in found.months])]
    elif name == "movements":
        series = [("Начислено", [m.accrued for m in found.months]),
                  ("Потрачено", [m.spent for m in found.months]),
                  ("Сгорело", [m.burned for m in found.months])]  # fmt: skip
    else:
        labels = [month_name(b.starts_at) for b in found.burns]
        series = [("Сгорит", [b.kopecks for b in found.burns])]
    return charts.svg_response(charts.bars(CHARTS[name], labels, series))
