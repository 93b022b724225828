"""The marketing console's program pages: the draft form and its Russian errors next to their
fields, the text beside the text in force with the changes marked, the replay with its charts
and tables, publishing with a date, and who may open them."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.models import AuditEntry, ProgramVersion, ReplayJob
from bonus_service.web.console_programs import _diff
from tests.support.pages import console_login, csrf_token, make_operator, text
from tests.support.shop import order_id, pickup

JSON_BOX = re.compile(r'<textarea id="program_json"[^>]*>(.*?)</textarea>', re.S)
INPUT = re.compile(r'<input id="[^"]+" name="([^"]+)" type="[a-z-]+" value="([^"]*)"')
SHIPPED = "2024-01-01-default"


def logged_in(app, name: str, role: str):
    make_operator(app, name, role=role)
    browser = app.test_client()
    assert console_login(browser, name).status_code == 303
    return browser


@pytest.fixture
def marketing(app):
    return logged_in(app, "mila", "marketing")


def form_of(browser, path: str = "/console/programs/new") -> dict:
    """The draft form as the page filled it, ready to send back."""
    page = text(browser.get(path))
    form = {"csrf_token": csrf_token(browser, path),
            "program_json": html.unescape(JSON_BOX.search(page).group(1)),
            "zone_minimum_channels-shown": "1", "exclusions-shown": "1"}  # fmt: skip
    for name, value in INPUT.findall(page):
        if name not in ("since", "until", "effective_from"):
            form[name] = html.unescape(value)
    form["checked"] = re.findall(r'name="checked" value="([^"]+)"[^>]*checked', page)
    return form


def draft(browser, version: str = "summer-2027", **knobs):
    form = form_of(browser)
    form.update(version=version, **knobs)
    return browser.post("/console/programs/new", data=form)


def stored(app, version: str) -> ProgramVersion | None:
    with get_db(app).unit_of_work(write=False) as session:
        return session.get(ProgramVersion, version)


def audited(app, action: str) -> list[tuple[str, str]]:
    with get_db(app).unit_of_work(write=False) as session:
        query = select(AuditEntry.actor, AuditEntry.target).where(AuditEntry.action == action)
        return [tuple(row) for row in session.execute(query)]


def error_of(page: str, field: str) -> str | None:
    found = re.search(rf'<p class="field__error" id="{re.escape(field)}-error">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else None


def test_the_form_writes_every_knob_into_the_program_and_the_draft_is_audited(app, marketing):
    form = form_of(marketing)
    form["checked"] = [c for c in form["checked"] if c != "exclude_promo"]
    form.update({"version": "summer-2027", "title": "Летняя программа",
                 "accrual-0-percent": "4,5", "accrual-2-percent": "12",
                 "pickup_threshold": "700", "max_percent": "25", "idle_months": "6",
                 "category-business_lunch-label": "Ланч дня",
                 "category-business_lunch-aliases": "Ланч, Бизнес-ланч"})  # fmt: skip
    sent = marketing.post("/console/programs/new", data=form)
    assert sent.status_code == 303, error_of(text(sent), "program_json")
    assert sent.location == "/console/programs/summer-2027"
    row = stored(app, "summer-2027")
    assert row.status == "draft" and row.created_by == "operator:mila"
    data = json.loads(row.data)
    assert [r["percent"] for r in data["accrual"]] == ["4.5", "3", "12"]
    standard, over = data["accrual"][1], data["accrual"][2]
    assert {"<=": [{"var": "total"}, "700"]} in standard["when"]["or"][2]["and"]
    assert {">": [{"var": "total"}, "700"]} in over["when"]["and"]
    assert "до 700 ₽ включительно" in standard["message"]
    assert over["message"] == "Самовывоз на сумму более 700 ₽"
    assert data["redemption"]["max_percent"] == "25"
    assert [e["id"] for e in data["redemption"]["exclusions"]] == ["cafe_business_lunch"]
    assert data["expiry"]["idle_months"] == 6
    assert data["categories"]["business_lunch"] == {
        "label": "Ланч дня",
        "aliases": ["Ланч", "Бизнес-ланч"],
    }
    assert data["title"] == "Летняя программа"
    assert audited(app, "program.draft") == [("operator:mila", "summer-2027")]
    # the page shows the knobs as stored, and changing a draft is audited too
    page = text(marketing.get(sent.location))
    assert 'value="4,50"' in page and 'value="700"' in page
    again = form_of(marketing, sent.location)
    again["checked"].append("exclude_promo")
    again["idle_months"] = "9"
    saved = marketing.post(sent.location, data=again)
    assert saved.status_code == 303
    data = json.loads(stored(app, "summer-2027").data)
    assert data["expiry"]["idle_months"] == 9
    assert [e["id"] for e in data["redemption"]["exclusions"]] == [
        "cafe_business_lunch",
        "promo_code",
    ]
    assert audited(app, "program.change") == [("operator:mila", "summer-2027")]


@pytest.mark.parametrize(
    ("knob", "typed", "field", "words"),
    [
        ("accrual-2-percent", "150", "accrual-2-percent", "число от 0 до 100"),
        ("max_percent", "101", "max_percent", "число от 0 до 100"),
        ("idle_months", "шесть", "idle_months", "целое число месяцев от 1 до 120"),
        ("idle_months", "0", "idle_months", "целое число месяцев от 1 до 120"),
        ("pickup_threshold", "много", "pickup_threshold", "сумму в рублях"),
        ("pickup_threshold", "1500", "pickup_threshold", "пример считается по другому правилу"),
        (
            "category-business_lunch-label",
            " ",
            "category-business_lunch-label",
            "Должно быть непустой строкой",
        ),
        ("version", "лето", "version", "Только латинские буквы"),
        ("title", "", "title", "Должно быть непустой строкой"),
    ],
)
def test_a_refused_knob_is_answered_in_russian_next_to_its_field(app, marketing, knob, typed,
                                                                 field, words):  # fmt: skip
    form = form_of(marketing)
    form.update({"version": "summer-2027", knob: typed})
    sent = marketing.post("/console/programs/new", data=form)
    assert sent.status_code == 422
    page = text(sent)
    assert words in (error_of(page, field) or ""), error_of(page, "program_json")
    assert f'id="{field}"' not in page or 'aria-invalid="true"' in page
    assert html.escape(typed, quote=True) in page or not typed.strip()  # the typed value stays
    assert stored(app, "summer-2027") is None


def test_what_the_form_does_not_show_is_refused_beside_the_json_box_with_its_path(marketing):
    form = form_of(marketing)
    program = json.loads(form["program_json"])
    program["rounding"]["quantum"] = "-1"
    form.update(version="summer-2027", program_json=json.dumps(program, ensure_ascii=False))
    page = text(marketing.post("/console/programs/new", data=form))
    assert error_of(page, "program_json").startswith(
        "rounding.quantum: должно быть положительной суммой"
    )
    form["program_json"] = '{"version": '
    sent = marketing.post("/console/programs/new", data=form)
    assert sent.status_code == 422
    assert error_of(text(sent), "program_json").startswith("JSON не читается: строка 1")
    assert "{&#34;version&#34;: </textarea>" in text(sent)  # what was typed, to fix
    # the form is still laid out, with what was typed in its fields
    form.update({"program_json": "[1, 2]", "accrual-2-percent": "11"})
    form["checked"] = ["exclude_promo"]
    page = text(marketing.post("/console/programs/new", data=form))
    assert "JSON не читается: программа — это объект" in error_of(page, "program_json")
    assert 'name="accrual-2-percent" type="text" value="11"' in page
    assert re.search(r'value="exclude_promo" id="exclude_promo" checked', page)
    assert not re.search(r'value="exclude_business_lunch" id="exclude_business_lunch" checked',
                         page)  # fmt: skip


def test_a_version_taken_is_said_beside_the_version(marketing):
    assert draft(marketing).status_code == 303
    sent = draft(marketing)
    assert sent.status_code == 409
    assert "уже есть" in error_of(text(sent), "version")


def test_the_drafts_text_stands_beside_the_text_in_force_with_the_changes_marked(marketing):
    page = text(marketing.get(draft(marketing, **{"accrual-2-percent": "12"}).location))
    diff = re.search(r'data-testid="diff">(.*?)</div>', page, re.S).group(1)
    removed = re.findall(r"<del>(.*?)</del>", diff)
    added = re.findall(r"<ins>(.*?)</ins>", diff)
    assert "Заказ на самовывоз на сумму более 500 ₽: на персональный счёт зачисляется 10% от " \
           "суммы заказа." in removed  # fmt: skip
    assert "Заказ на самовывоз на сумму более 500 ₽: на персональный счёт зачисляется 12% от " \
           "суммы заказа." in added  # fmt: skip
    assert "Пример: заказ на самовывоз на 1000 ₽ — гость получает 120 бонусов." in added
    # what did not change is plain text, outside the marks
    assert "1 бонус = 1 рублю." in diff
    assert not any("1 бонус = 1 рублю" in s for s in removed + added)
    assert not any("Бонусами можно оплатить до 20%" in s for s in removed + added)


def test_the_diff_marks_whole_sentences_and_escapes_the_text():
    assert str(_diff("А. Б.\nВ.\n", "А. Г.\nВ.\n")) == "А. <del>Б.</del> <ins>Г.</ins><br>В.<br>"
    assert str(_diff("<b>x</b>\n", "<i>x</i>\n")) == (
        "<del>&lt;b&gt;x&lt;/b&gt;</del> <ins>&lt;i&gt;x&lt;/i&gt;</ins><br>"
    )


def test_a_replay_from_the_page_draws_old_beside_new_with_the_table_under(app, shop):
    phone, _ = shop.guest()
    oid = order_id()
    assert shop.place(phone, pickup("1000.00"), oid=oid).status_code == 201
    assert shop.complete(oid).status_code == 200
    marketing = logged_in(app, "mila", "marketing")
    page_path = draft(marketing, **{"accrual-2-percent": "20"}).location
    today = utcnow().astimezone(app.extensions["bonus_settings"].tz).strftime("%Y-%m-%d")
    started = marketing.post(
        f"{page_path}/replay",
        data={"since": today, "until": today, "csrf_token": csrf_token(marketing, page_path)},
    )
    assert started.status_code == 303
    replay_id = started.location.rsplit("/", 1)[1]
    job = app.extensions["bonus_replays"].wait(replay_id, timeout=20)
    assert job.status == "done", job.error
    page = text(marketing.get(started.location))
    assert 'http-equiv="refresh"' not in page  # done: the page stops reloading
    accrued = re.search(r'data-testid="table-accrued">(.*?)</table>', page, re.S).group(1)
    month = utcnow().astimezone(app.extensions["bonus_settings"].tz).strftime("%Y-%m")
    assert re.findall(r"<tr><th scope=\"row\">(.*?)</th><td>(.*?)</td><td>(.*?)</td>"
                      r"<td>(.*?)</td></tr>", accrued) == [
        (month, "100\u00a0₽", "200\u00a0₽", "+100")]  # fmt: skip
    assert "<caption>Начислено бонусов</caption>" in accrued
    masked = job.result.guests[0].phone
    assert masked in page and phone not in page
    chart = marketing.get(f"/console/charts/replays/{replay_id}/accrued.svg")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert "script-src" not in chart.headers["Content-Security-Policy"]
    svg = text(chart)
    assert '<svg role="img" aria-label="Начислено бонусов"' in svg
    assert "<title>Начислено бонусов</title>" in svg and "<script" not in svg
    assert "100\u00a0₽" in svg and "200\u00a0₽" in svg  # the bars' values, as roubles
    assert marketing.get(f"/console/charts/replays/{replay_id}/nope.svg").status_code == 404


def running_replay(app, replay_id: str, *, started: timedelta, beat: timedelta) -> None:
    """A replay's row as a process running it writes it: 250 of 1,000 orders done, started and
    last beating that long ago."""
    now = utcnow()
    with get_db(app).unit_of_work() as session:
        session.add(ReplayJob(id=replay_id, candidate_version="summer-2027",
                              since=now - timedelta(1), until=now, status="running",
                              done=250, total=1000,
                              started_at=now - started, beat_at=now - beat))  # fmt: skip
        session.commit()


def test_a_running_replay_shows_its_progress_and_reloads_itself(app, marketing):
    page_path = draft(marketing).location
    running_replay(app, "r1", started=timedelta(0), beat=timedelta(0))
    page = text(marketing.get(f"{page_path}/replays/r1"))
    assert '<meta http-equiv="refresh" content="2">' in page
    assert 'progress max="100" value="25"' in page and "250 из 1000" in page
    assert marketing.get(f"{page_path}/replays/nope").status_code == 404


def test_a_replay_whose_process_died_says_so_and_stops_reloading(app, marketing):
    page_path = draft(marketing).location
    running_replay(app, "r2", started=timedelta(minutes=10), beat=timedelta(minutes=3))
    page = text(marketing.get(f"{page_path}/replays/r2"))
    assert 'http-equiv="refresh"' not in page
    assert "Пересчёт не удался: the process running it stopped" in page
    assert "Запустите его снова" in page


def test_a_replay_needs_a_period(marketing):
    page_path = draft(marketing).location
    sent = marketing.post(f"{page_path}/replay", data={
        "since": "2026-12-01", "until": "2026-11-01",
        "csrf_token": csrf_token(marketing, page_path)})  # fmt: skip
    assert sent.status_code == 422
    assert error_of(text(sent), "until") == "Конец периода не может быть раньше начала."
    sent = marketing.post(
        f"{page_path}/replay",
        data={
            "since": "вчера",
            "until": "2026-11-01",
            "csrf_token": csrf_token(marketing, page_path),
        },
    )
    assert error_of(text(sent), "since") == "Укажите дату: день, месяц и год."


def test_publishing_takes_a_local_date_not_in_the_past_and_lists_it_upcoming(app, marketing):
    page_path = draft(marketing).location
    zone = app.extensions["bonus_settings"].tz
    token = csrf_token(marketing, page_path)
    past = (utcnow() - timedelta(hours=1)).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    sent = marketing.post(f"{page_path}/publish", data={"effective_from": past,
                                                         "csrf_token": token})  # fmt: skip
    assert sent.status_code == 422
    assert error_of(text(sent), "effective_from").startswith("Эта дата уже прошла")
    sent = marketing.post(f"{page_path}/publish", data={"effective_from": "завтра",
                                                         "csrf_token": token})  # fmt: skip
    assert error_of(text(sent), "effective_from") == "Укажите дату и время вступления в силу."
    assert stored(app, "summer-2027").status == "draft"
    sent = marketing.post(f"{page_path}/publish", data={"effective_from": "2027-02-01T00:00",
                                                         "csrf_token": token})  # fmt: skip
    assert sent.status_code == 303 and sent.location == "/console/programs"
    row = stored(app, "summer-2027")
    assert row.status == "published" and row.published_by == "operator:mila"
    assert row.effective_from.astimezone(zone).isoformat() == "2027-02-01T00:00:00+03:00"
    assert audited(app, "program.publish") == [("operator:mila", "summer-2027")]
    listing = text(marketing.get("/console/programs"))
    upcoming = re.search(r'<tr data-version="summer-2027" class="upcoming">(.*?)</tr>', listing,
                         re.S).group(1)  # fmt: skip
    assert "опубликована, вступит в силу 01.02.2027 00:00" in upcoming
    assert re.search(rf'<tr data-version="{SHIPPED}" class="">.*?действует', listing, re.S)
    assert "С 01.02.2027 действуют новые правила" in text(app.test_client().get("/rules"))
    # published, it never changes: the page has no form, and a send anyway is refused
    page = text(marketing.get(page_path))
    assert 'data-testid="draft-form"' not in page and 'data-testid="published"' in page
    assert marketing.post(page_path, data=form_of(marketing, "/console/programs/new")
                          ).status_code == 409  # fmt: skip


def test_the_csrf_token_guards_the_program_forms(marketing):
    form = form_of(marketing)
    form.update(version="summer-2027", csrf_token="forged")
    assert marketing.post("/console/programs/new", data=form).status_code == 403


PROGRAM_PAGES = [("get", "/console/programs"), ("get", "/console/programs/new"),
                 ("post", "/console/programs/new"), ("get", f"/console/programs/{SHIPPED}"),
                 ("post", f"/console/programs/{SHIPPED}/publish"),
                 ("post", f"/console/programs/{SHIPPED}/replay")]  # fmt: skip


@pytest.mark.parametrize("role", ["operator", "supervisor"])
def test_only_marketing_opens_the_program_pages(app, role):
    person = logged_in(app, "anna", role)
    token = csrf_token(person, "/console")
    for method, path in PROGRAM_PAGES:
        response = getattr(person, method)(path, data={"csrf_token": token})
        assert response.status_code == 403, path
        assert "Эта страница недоступна вашей роли" in text(response)
    assert len(audited(app, "console.refused")) == len(PROGRAM_PAGES)


def test_marketing_is_refused_every_guest_page_and_adjustment(app, shop):
    phone, _ = shop.guest("100")
    mila = logged_in(app, "mila", "marketing")
    token = csrf_token(mila, "/console/programs")
    refused = [mila.get("/console/guest", query_string={"phone": phone}),
               mila.post("/console/guests", data={"phone": phone, "csrf_token": token}),
               mila.post("/console/adjust", data={"phone": phone, "amount": "100", "seen": "0",
                                                  "direction": "credit", "reason": "так",
                                                  "csrf_token": token}),
               mila.get("/console/review"), mila.get("/console/audit")]  # fmt: skip
    assert [r.status_code for r in refused] == [403] * 5
    assert (
        shop.client.get(
            f"/v1/guests/{phone}", headers={"Authorization": f"Bearer {shop.operator}"}
        ).get_json()["balance"]
        == "100.00"
    )
    home = text(mila.get("/console"))
    assert 'href="/console/programs"' in home and 'href="/console/books"' in home
    assert "Поиск гостя" not in home
