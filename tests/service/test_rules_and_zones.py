"""The rules in force are served as data and as the published Russian text; zones are admin data."""

import pytest
from sqlalchemy import select

from bonus_service.app_db import get_db
from bonus_service.models import AuditEntry
from tests.support.http import bearer, problem_fields


def test_v1_rules_serves_the_program_in_force_as_data(client):
    body = client.get("/v1/rules").get_json()
    assert body["version"] == "2024-01-01-default"
    assert body["effective_from"] == "2024-01-01T00:00:00+03:00"
    assert body["rules"]["redemption"]["max_percent"] == "20"
    assert [v["version"] for v in body["versions"]] == ["2024-01-01-default"]


def test_the_published_rules_are_a_russian_page_rendered_from_the_data(client, shop):
    page = client.get("/rules")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert '<html lang="ru">' in text
    assert "10%" in text and "3%" in text and "20%" in text
    assert "1 бонус = 1 рубл" in text
    assert "Бонусная программа ВилкиНет — правила с 01.01.2024" in text
    assert "<small>Версия правил: 2024-01-01-default</small>" in text
    assert "«Север» — 500 ₽" in text


def test_a_later_program_version_takes_over_and_the_earlier_is_listed(tmp_path, database_url):
    import json
    import shutil
    from pathlib import Path

    from bonus_service.app import create_app

    programs = Path(__file__).resolve().parents[2] / "rules" / "programs"
    shutil.copytree(programs, tmp_path / "programs")
    winter = json.loads(
        (Path(__file__).resolve().parents[1] / "rules" / "programs" / "winter.json").read_text()
    )
    (tmp_path / "programs" / "winter.json").write_text(json.dumps(winter, ensure_ascii=False))
    app = create_app(
        {
            "database_url": database_url,
            "rules_dir": str(tmp_path / "programs"),
            "secret_key": "s",
            "scheduler_enabled": False,
        }
    )
    client = app.test_client()
    body = client.get("/v1/rules").get_json()
    assert body["version"] == winter["version"]
    assert len(body["versions"]) == 2
    page = client.get("/rules").get_data(as_text=True)
    assert "Предыдущие версии" in page
    assert "Правила с 01.01.2024 до 01.12.2024" in page
    # the earlier version's own text says so too, not "правила с"
    assert "Бонусная программа ВилкиНет — правила, действовавшие с 01.01.2024 до 01.12.2024" \
        in page


def test_a_version_published_for_later_is_announced_before_it_takes_effect(
    tmp_path, database_url
):
    """«Уведомление о внесенных изменениях происходит через публикацию новой версии правил на
    данной странице»: the page and /v1/rules show it, the version in force stays in force."""
    import json
    import shutil
    from pathlib import Path

    from bonus_service.app import create_app

    root = Path(__file__).resolve().parents[1]
    shutil.copytree(root.parent / "rules" / "programs", tmp_path / "programs")
    winter = json.loads((root / "rules" / "programs" / "winter.json").read_text())
    winter.update(version="2099-winter", effective_from="2099-01-01T00:00:00+03:00")
    (tmp_path / "programs" / "winter.json").write_text(json.dumps(winter, ensure_ascii=False))
    app = create_app({"database_url": database_url, "rules_dir": str(tmp_path / "programs"),
                      "secret_key": "s", "scheduler_enabled": False})  # fmt: skip
    client = app.test_client()
    body = client.get("/v1/rules").get_json()
    assert body["version"] == "2024-01-01-default"
    assert [v["version"] for v in body["upcoming"]] == ["2099-winter"]
    assert [v["version"] for v in body["versions"]] == ["2024-01-01-default"]
    page = client.get("/rules").get_data(as_text=True)
    assert "С 01.01.2099 действуют новые правила" in page
    assert "<summary>Новые правила с 01.01.2099</summary>" in page
    assert "Бонусная программа ВилкиНет — новые правила с 01.01.2099" in page
    assert "<small>Версия правил: 2099-winter</small>" in page
    assert page.index('data-version="2024-01-01-default"') < page.index("Новые правила")


def test_a_book_with_no_version_in_force_yet_stops_start_up(tmp_path, database_url):
    """Every quote, /v1/rules and /rules answered 500 until the first version began."""
    import json
    from pathlib import Path

    from bonus_service.app import create_app
    from bonus_service.settings import SettingsError

    programs = Path(__file__).resolve().parents[2] / "rules" / "programs"
    future = json.loads((programs / "2024-01-01-default.json").read_text(encoding="utf-8"))
    future.update(version="2099-future", effective_from="2099-01-01T00:00:00+03:00")
    for example_holder in (*future["accrual"], future["redemption"]):
        example_holder.pop("example", None)  # an example dated by the version would move
    (tmp_path / "future.json").write_text(json.dumps(future, ensure_ascii=False))
    config = {"database_url": database_url, "rules_dir": str(tmp_path), "secret_key": "s",
              "scheduler_enabled": False}  # fmt: skip
    with pytest.raises(SettingsError, match=r"BONUS_RULES_DIR: .*no program is in force"):
        create_app(config)


def test_an_admin_puts_a_zone_and_anyone_reads_it(app, client, make_key):
    admin = make_key("admin", name="ops")
    response = client.put(
        "/v1/zones/east", json={"name": "Восток", "min_order": "700.00"}, headers=bearer(admin)
    )
    assert response.status_code == 200
    assert response.get_json()["min_order"] == "700.00"
    zones = client.get("/v1/zones").get_json()["zones"]
    assert [(z["code"], z["min_order"]) for z in zones] == [("east", "700.00")]
    with get_db(app).unit_of_work(write=False) as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.target == "east")).all()
    assert [(a.actor, a.action) for a in audit] == [("ops", "zone.put")]


def test_zones_need_the_admin_scope(client, make_key):
    response = client.put(
        "/v1/zones/east",
        json={"name": "Восток", "min_order": "1"},
        headers=bearer(make_key("operator")),
    )
    assert response.status_code == 403


def test_a_bad_zone_is_refused_naming_the_field(client, make_key):
    admin = make_key("admin")
    bad_code = client.put(
        "/v1/zones/Bad%20Code", json={"name": "x", "min_order": "1"}, headers=bearer(admin)
    )
    assert "code" in problem_fields(bad_code)
    bad_min = client.put(
        "/v1/zones/ok", json={"name": "x", "min_order": "-1"}, headers=bearer(admin)
    )
    assert "min_order" in problem_fields(bad_min)
