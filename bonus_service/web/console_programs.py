"""The marketing console's program versions: the list, the draft form, the text beside the text
in force, the replay with its charts, and publishing with a date.

The same service verbs as /v1/programs (services/programs.py stores and audits, with the
person as the author; services/replays.py replays in the background). Only `marketing` opens
these pages: an operator or a supervisor is refused (403, audited), and marketing's own pages
touch no guest and no balance. The services' refusals are turned into form errors in one
place, `_refusal`.
"""

from __future__ import annotations

import difflib
import json
import re
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.exceptions import NotFound

import rules
from bonus_service import program
from bonus_service.app_db import get_db, unit_of_work
from bonus_service.clock import utcnow
from bonus_service.errors import DomainError
from bonus_service.models import ProgramVersion, Zone
from bonus_service.models import ReplayJob as ReplayRow
from bonus_service.services import programs
from bonus_service.services.replays import Replays, UnknownReplay
from bonus_service.web import charts, program_form, wording
from bonus_service.web.console import actor, blp, operator_required, role_required
from rules.money import money

MARKETING_PAGES = role_required("marketing")
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # <input type="datetime-local">
REFRESH_SECONDS = 2


def _refusal(error: DomainError, data: dict) -> tuple[dict[str, str], int] | None:
    """A service refusal as (form errors, status), or None for an error that is no refusal.
    The one place that knows what services/programs.py raises."""
    if isinstance(error, programs.ProgramRefused):
        return program_form.place(error.errors, data), 422
    if isinstance(error, programs.VersionExists):
        return {"version": "Версия с таким названием уже есть: дайте черновику другое."}, 409
    if isinstance(error, programs.InstantTaken):
        return {"effective_from": "В этот же момент вступает в силу другая версия: "
                "выберите другое время."}, 409  # fmt: skip
    if isinstance(error, programs.VersionPublished):
        return {"version": "Версия уже опубликована и не меняется: создайте новый черновик."}, 409
    if isinstance(error, programs.UnknownVersion):
        raise NotFound("Такой версии программы нет.")
    return None


# --- the list ---------------------------------------------------------------------------------


@blp.get("/programs")
@operator_required
@MARKETING_PAGES
def programs_list():
    """Every version: drafts, the published ones still to come, the one in force, the past."""
    now = utcnow()
    in_force = program.in_force(now)
    with unit_of_work(write=False) as db_session:
        rows = programs.stored(db_session)
    stored = {row.version for row in rows}
    listed = [_listed(row.version, row.status, row.effective_from, programs.decode(row.data),
                      row.updated_by, row.updated_at, now, in_force) for row in rows]  # fmt: skip
    listed += [_listed(p.version, "published", p.effective_from, p.data, None, None, now,
                       in_force) for p in program.book() if p.version not in stored]  # fmt: skip
    listed.sort(key=lambda v: (v["status"] != "draft", -v["effective_from"].timestamp()))
    return render_template("console_programs.html", versions=listed)


def _listed(version, status, effective_from, data, by, at, now, in_force) -> dict:
    if status == "draft":
        state = "черновик"
    elif version == in_force.version:
        state = "действует"
    elif effective_from > now:
        state = "опубликована, вступит в силу"
    else:
        state = "действовала раньше"
    return {"version": version, "status": status, "state": state, "title": data.get("title"),
            "effective_from": effective_from, "updated_by": by, "updated_at": at,
            "upcoming": status == "published" and effective_from > now}  # fmt: skip


# --- the draft form ---------------------------------------------------------------------------


@blp.get("/programs/new")
@operator_required
@MARKETING_PAGES
def program_new():
    """A new draft starts as a copy of the program in force, dated from tomorrow."""
    now = utcnow()
    data = _proposal(program.in_force(now), now)
    return _editor(None, data, program_form.read(data), {})


@blp.post("/programs/new")
@operator_required
@MARKETING_PAGES
def program_create():
    data, knobs, errors = _typed(_proposal(program.in_force(utcnow()), utcnow()))
    if errors:
        return _editor(None, data, knobs, errors, 422)
    now = utcnow()
    with unit_of_work() as db_session:
        try:
            row = programs.create_draft(db_session, data, program.book(), actor(), now)
        except DomainError as error:  # a refusal goes back to the form
            refused = _refusal(error, data)
            if refused is None:
                raise
            return _editor(None, data, knobs, *refused)
        db_session.commit()
        version = row.version
    flash(f"Черновик {version} сохранён.")
    return redirect(url_for(".program_page", version=version), 303)


@blp.get("/programs/<string:version>")
@operator_required
@MARKETING_PAGES
def program_page(version: str):
    row, data = _stored_or_shipped(version)
    return _editor(version, data, program_form.read(data), {}, 200, row=row)


@blp.post("/programs/<string:version>")
@operator_required
@MARKETING_PAGES
def program_save(version: str):
    row, stored = _stored_or_shipped(version)
    data, knobs, errors = _typed(stored)
    if errors:
        return _editor(version, data, knobs, errors, 422, row=row)
    with unit_of_work() as db_session:
        try:
            row = programs.change_draft(db_session, version, data, actor(), utcnow())
        except DomainError as error:
            refused = _refusal(error, data)
            if refused is None:
                raise
            return _editor(version, data, knobs, *refused, row=row)
        db_session.commit()
    flash("Черновик сохранён.")
    return redirect(url_for(".program_page", version=version), 303)


def _typed(base: dict) -> tuple[dict, dict, dict]:
    """The program the form describes: the JSON box read first, then the knobs written into it
    (the form wins for what it shows). Returns (data, the form's values, errors). A JSON box
    that cannot be read gives back `base` (the draft as stored, or the new draft's start) to
    lay the form out by, with everything typed kept."""
    typed_json = request.form.get(program_form.JSON_FIELD, "")
    try:
        data = programs.decode(typed_json)
        if not isinstance(data, dict):
            raise TypeError("not an object")
    except (ValueError, TypeError) as error:
        message = f"JSON не читается: {_json_reason(error)}. Исправьте и сохраните снова."
        typed = {**program_form.read(base), **request.form.to_dict(),
                 "zone_minimum_channels": [c.split(":", 1)[1] for c in request.form.getlist(
                     "checked") if c.startswith("zone_minimum_channels:")],
                 "exclude_promo": "exclude_promo" in request.form.getlist("checked"),
                 "exclude_business_lunch": "exclude_business_lunch" in request.form.getlist(
                     "checked")}  # fmt: skip
        return base, typed, {program_form.JSON_FIELD: message}
    version = request.form.get("version")
    if version is not None:
        data["version"] = version.strip()
    checked = set(request.form.getlist("checked"))
    knobs = program_form.write(data, request.form, checked)
    # a knob refused before the loader saw it shows what was typed, to be corrected
    typed = {name: request.form[name] for name in knobs.errors if name in request.form}
    values = {**knobs.values, "version": data.get("version", ""), **typed}
    return knobs.values["program"], values, knobs.errors


def _json_reason(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"строка {error.lineno}, позиция {error.colno}"
    if isinstance(error, TypeError):
        return "программа — это объект { … }, а не список, строка или число"
    return "это не JSON"


def _editor(version, data, values, errors, status=200, *, row=None):
    """The draft page (or a published version's, read only) with the text beside the text in
    force, the replay form and the publish form."""
    now = utcnow()
    in_force = program.in_force(now)
    published = (row is not None and row.status == "published") or (
        version is not None and row is None)  # fmt: skip
    draft_text, text_error = _text(data, now)
    in_force_text = rules.render_text(in_force, _zones())
    zone = _zone()
    proposed = _effective_from(data, now)
    page = render_template(
        "console_program.html", version=version, data=data, values=values, errors=errors,
        json_text=values.get(program_form.JSON_FIELD) or program_form.as_json(data),
        labels=program_form.field_names(data), channels=program_form.channels_offered(),
        categories=list(data.get("categories", {}).items()) if isinstance(data, dict) else [],
        published=published, row=row, in_force=in_force,
        diff=_diff(in_force_text, draft_text) if draft_text else None, text_error=text_error,
        replays=_replays_of(version) if version else [],
        since=(now.astimezone(zone) - timedelta(days=90)).strftime("%Y-%m-%d"),
        until=now.astimezone(zone).strftime("%Y-%m-%d"),
        publish_at=(proposed.astimezone(zone).strftime(LOCAL_INPUT) if proposed else ""),
        form_errors=errors,
    )  # fmt: skip
    return page, status


def _zone():
    """BONUS_TIMEZONE: the zone people type dates in and read them."""
    return current_app.extensions["bonus_settings"].tz


def _proposal(in_force: rules.Program, now: datetime) -> dict:
    """The program in force as a new draft: a version id of its own, dated tomorrow 00:00."""
    data = json.loads(programs.encode(in_force.data), parse_float=Decimal)
    zone = _zone()
    tomorrow = (now.astimezone(zone) + timedelta(days=1)).date()
    start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone)
    data["version"] = f"draft-{now.astimezone(zone):%Y%m%d-%H%M%S}"
    data["effective_from"] = start.isoformat()
    return data


def _effective_from(data: dict, now: datetime) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(data.get("effective_from")))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None and moment > now else None


def _stored_or_shipped(version: str):
    with unit_of_work(write=False) as db_session:
        row = db_session.get(ProgramVersion, version)
        if row is not None:
            db_session.expunge(row)
            return row, programs.decode(row.data)
    try:
        return None, json.loads(programs.encode(program.book().get(version).data),
                                parse_float=Decimal)  # fmt: skip
    except KeyError:
        raise NotFound("Такой версии программы нет.") from None


def _zones() -> dict:
    with unit_of_work(write=False) as db_session:
        return {z.name: money(z.min_order) for z in db_session.scalars(select(Zone))}


# --- the text beside the text in force --------------------------------------------------------

SENTENCE = re.compile(r"(?<=[.!?:;»])\s+(?=[А-ЯA-Z«0-9—•\-])")


def _text(data: dict, now: datetime) -> tuple[str | None, str | None]:
    """The draft's published text, or why there is none (a program the loader refuses)."""
    try:
        candidate = rules.load_program(data)
    except (rules.ProgramError, TypeError, ValueError):
        return None, "Текст появится, когда программа будет без ошибок."
    return rules.render_text(candidate, _zones(), upcoming=candidate.effective_from > now), None


def _sentences(text: str) -> list[str]:
    """The text as the pieces a reader compares: each line's sentences, then a line break."""
    pieces = []
    for line in text.splitlines():
        pieces.extend([*SENTENCE.split(line), "\n"] if line.strip() else ["\n"])
    return pieces


def _diff(old: str, new: str) -> Markup:
    """The new text with what it adds in <ins> and what it drops in <del>, sentence by
    sentence (difflib's SequenceMatcher over sentences: a changed percent marks its sentence,
    not the whole paragraph)."""
    before, after = _sentences(old), _sentences(new)
    out: list[Markup] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op in ("delete", "replace"):
            out.extend(_piece(s, "del") for s in before[a1:a2])
        if op in ("insert", "replace"):
            out.extend(_piece(s, "ins") for s in after[b1:b2])
        if op == "equal":
            out.extend(_piece(s, None) for s in after[b1:b2])
    joined = Markup("")
    for previous, piece in zip([None, *out], out, strict=False):
        # a space between sentences, none around a line break
        if previous is not None and BREAK not in (previous, piece):
            joined += Markup(" ")
        joined += piece
    return joined


BREAK = Markup("<br>")
MARKS = {None: Markup("{}"), "ins": Markup("<ins>{}</ins>"), "del": Markup("<del>{}</del>")}


def _piece(sentence: str, mark: str | None) -> Markup:
    if sentence == "\n":
        return BREAK
    return MARKS[mark].format(sentence)


# --- replay -----------------------------------------------------------------------------------


def _replays() -> Replays:
    """This process's replay runner (the API's, when it started one: its threads are ours)."""
    if "bonus_replays" not in current_app.extensions:
        current_app.extensions["bonus_replays"] = Replays(get_db())
    return current_app.extensions["bonus_replays"]


def _replays_of(version: str) -> list:
    """The version's last five replays, newest first, for links back to their pages."""
    with unit_of_work(write=False) as db_session:
        query = select(
            ReplayRow.id, ReplayRow.status, ReplayRow.since, ReplayRow.until, ReplayRow.started_at
        ).where(ReplayRow.candidate_version == version)
        return list(db_session.execute(query.order_by(ReplayRow.started_at.desc()).limit(5)))


@blp.post("/programs/<string:version>/replay")
@operator_required
@MARKETING_PAGES
def program_replay(version: str):
    """Start a replay of [since, until) (local dates, until included) and show its page."""
    row, data = _stored_or_shipped(version)
    zone = _zone()
    errors = {}
    days = {}
    for name in ("since", "until"):
        try:
            days[name] = datetime.strptime(request.form.get(name, "").strip(), "%Y-%m-%d")
        except ValueError:
            errors[name] = "Укажите дату: день, месяц и год."
    if not errors and days["until"] < days["since"]:
        errors["until"] = "Конец периода не может быть раньше начала."
    if errors:
        return _editor(version, data, program_form.read(data), errors, 422, row=row)
    since = days["since"].replace(tzinfo=zone)
    until = (days["until"] + timedelta(days=1)).replace(tzinfo=zone)
    try:
        candidate = rules.load_program(data)
    except rules.ProgramError:
        flash("Повтор не начат: в программе есть ошибки.")
        return redirect(url_for(".program_page", version=version), 303)
    job = _replays().start(program.book(), candidate, since, until)
    return redirect(url_for(".replay_page", version=version, replay_id=job.id), 303)


@blp.get("/programs/<string:version>/replays/<string:replay_id>")
@operator_required
@MARKETING_PAGES
def replay_page(version: str, replay_id: str):
    """The replay's progress (the page reloads itself) and, when done, the charts and tables."""
    try:
        job = Replays(get_db()).get(replay_id)
    except UnknownReplay:
        job = None
    if job is None or job.candidate_version != version:
        raise NotFound("Такого повтора нет.")
    result = job.result
    tables = _replay_tables(result) if result is not None else []
    percent = None
    if job.total:
        percent = min(100, job.done * 100 // job.total)
    refresh = REFRESH_SECONDS if job.status == "running" else None
    return render_template("console_replay.html", version=version, job=job, result=result,
                           tables=tables, percent=percent, refresh=refresh)  # fmt: skip


REPLAY_FIGURES = {  # figure → its Russian title
    "accrued": "Начислено бонусов",
    "redeemable": "Лимит оплаты бонусами (сумма по заказам)",
    "redeemed": "Оплачено бонусами",
    "liability": "Прирост обязательств (начислено − оплачено)",
}


def _replay_tables(result) -> list[dict]:
    """One table per figure, the months down, old beside new (and the chart's name)."""
    tables = []
    for key, title in REPLAY_FIGURES.items():
        rows = [(m.month, getattr(m.actual, key), getattr(m.candidate, key))
                for m in result.months]  # fmt: skip
        tables.append(
            {
                "id": key,
                "title": title,
                "rows": [(month, old, new, new - old) for month, old, new in rows],
            }
        )
    return tables


@charts.blp.get("/replays/<string:replay_id>/<string:figure>.svg")
@operator_required
@MARKETING_PAGES
def replay_chart(replay_id: str, figure: str):
    """One figure of a finished replay, per month, old beside new."""
    try:
        job = Replays(get_db()).get(replay_id)
    except UnknownReplay:
        raise NotFound() from None
    if job.result is None or figure not in REPLAY_FIGURES:
        raise NotFound()
    months = job.result.months
    series = [
        ("Как было", [getattr(m.actual, figure) for m in months]),
        ("Новая версия", [getattr(m.candidate, figure) for m in months]),
    ]
    return charts.svg_response(charts.bars(REPLAY_FIGURES[figure], [m.month for m in months],
                                           series))  # fmt: skip


# --- publish ----------------------------------------------------------------------------------


@blp.post("/programs/<string:version>/publish")
@operator_required
@MARKETING_PAGES
def program_publish(version: str):
    """Publish the draft from a local date and time (BONUS_TIMEZONE), not in the past."""
    row, data = _stored_or_shipped(version)
    typed = request.form.get("effective_from", "").strip()
    zone, now = _zone(), utcnow()
    try:
        moment = datetime.strptime(typed, LOCAL_INPUT).replace(tzinfo=zone)
    except ValueError:
        return _editor(version, data, program_form.read(data),
                       {"effective_from": "Укажите дату и время вступления в силу."}, 422,
                       row=row)  # fmt: skip
    if moment < now:
        return _editor(version, data, program_form.read(data),
                       {"effective_from": f"Эта дата уже прошла: сейчас "
                        f"{wording.local(now)}. Версия вступает в силу с текущего момента "
                        "или позже."}, 422, row=row)  # fmt: skip
    with unit_of_work() as db_session:
        try:
            programs.publish(db_session, version, moment, program.book(), actor(), now)
        except DomainError as error:
            refused = _refusal(error, data)
            if refused is None:
                raise
            return _editor(version, data, program_form.read(data), *refused, row=row)
        db_session.commit()
    program.shelf().mark_stale()
    flash(f"Версия {version} опубликована: вступит в силу {wording.local(moment)}.")
    return redirect(url_for(".programs_list"), 303)
