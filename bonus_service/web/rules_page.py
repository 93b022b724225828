"""The published rules (/rules): the program in force rendered from rules/, and earlier versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, render_template
from sqlalchemy import select

import rules
from bonus_service import program
from bonus_service.app_db import unit_of_work
from bonus_service.clock import utcnow
from bonus_service.models import Zone
from bonus_service.web import pages
from rules.money import money

blp = Blueprint("rules_page", __name__, template_folder="templates")
pages.serve_as_pages(blp, private=False)

# Lines that end like a sentence are text; a block's first line that does not is its heading.
SENTENCE_ENDS = (".", ":", ";", "»", ")", "!", "?")


@dataclass(frozen=True)
class Section:
    heading: str | None
    lines: list[str]


@dataclass(frozen=True)
class Version:
    program: rules.Program
    until: datetime | None  # None: still in force
    sections: list[Section]


def sections(text: str) -> list[Section]:
    """The published text cut at its blank lines into headed sections."""
    cut = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        if len(lines) > 1 and not lines[0].endswith(SENTENCE_ENDS):
            cut.append(Section(lines[0], lines[1:]))
        else:
            cut.append(Section(None, lines))
    return cut


def versions(now: datetime, zones: dict) -> list[Version]:
    """Every version that has taken effect, the one in force first."""
    past = [p for p in program.book() if p.effective_from <= now]
    ends = [p.effective_from for p in past[1:]] + [None]
    told = [
        # today's zones belong to the version in force only
        Version(p, until, sections(rules.render_text(p, None if until else zones, until)))
        for p, until in zip(past, ends, strict=True)
    ]
    return told[::-1]


def upcoming(now: datetime, zones: dict) -> list[Version]:
    """The versions published for later, the next first: «Уведомление о внесенных изменениях
    происходит через публикацию новой версии правил на данной странице»."""
    later = [p for p in program.book() if p.effective_from > now]
    return [Version(p, None, sections(rules.render_text(p, zones, upcoming=True))) for p in later]


@blp.get("/rules")
def published_rules():
    """The rules as the restaurant publishes them, generated from the data in force."""
    with unit_of_work(write=False) as session:
        zones = {z.name: money(z.min_order) for z in session.scalars(select(Zone))}
    now = utcnow()
    current, *earlier = versions(now, zones)
    return render_template(
        "rules.html", current=current, earlier=earlier, upcoming=upcoming(now, zones)
    )
