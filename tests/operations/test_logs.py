"""JSON logs: one object per line, each request's lines and answer tied by X-Request-Id."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from bonus_service.logs import JsonFormatter
from tests.support.http import bearer
from tests.support.phones import new_phone

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings_overrides() -> dict:
    return {"sms_backend": "console"}  # the development default: codes go to the log


@pytest.fixture
def log_lines():
    """The root logger's output through the service's formatter, as parsed JSON objects."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def access_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "bonus.access"]


def test_every_answer_carries_a_request_id_that_its_access_line_names(client, log_lines):
    response = client.get("/v1/rules")

    request_id = response.headers["X-Request-Id"]
    [line] = access_lines(log_lines())
    assert len(request_id) == 32
    assert line["request_id"] == request_id
    assert (line["level"], line["method"], line["path"], line["status"]) == (
        "INFO", "GET", "/v1/rules", 200,
    )  # fmt: skip
    assert line["duration_ms"] >= 0
    assert line["message"].startswith("GET /v1/rules 200 ")
    assert line["time"].endswith("+00:00")


def test_a_sane_request_id_from_the_caller_is_kept(client, log_lines):
    sane = "edge-7f3a.2_b" + "x" * 51  # 64 characters

    response = client.get("/v1/rules", headers={"X-Request-Id": sane})

    assert response.headers["X-Request-Id"] == sane
    assert access_lines(log_lines())[0]["request_id"] == sane


@pytest.mark.parametrize("insane", ["x" * 65, "two words", "a/b", '{"level":"ERROR"}', ""])
def test_any_other_request_id_is_replaced_by_a_fresh_one(client, log_lines, insane):
    response = client.get("/v1/rules", headers={"X-Request-Id": insane})

    replaced = response.headers["X-Request-Id"]
    assert replaced != insane and len(replaced) == 32
    assert access_lines(log_lines())[0]["request_id"] == replaced


def test_the_console_sms_line_keeps_the_code_in_its_message_under_the_request_id(client, log_lines):
    phone = new_phone()
    response = client.post("/v1/auth/sms-code", json={"phone": phone})

    assert response.status_code == 202
    [sms] = [line for line in log_lines() if line["logger"] == "sms"]
    assert sms["message"].startswith(f"SMS to {phone}: Код для входа в ВилкиНет: ")
    assert sms["request_id"] == response.headers["X-Request-Id"]


def test_keys_tokens_and_codes_reach_the_log_only_in_the_console_sms_line(
    client, log_lines, make_key
):
    key = make_key("operator")
    phone = new_phone()
    client.post("/v1/auth/sms-code", json={"phone": phone})
    [sms] = [line["message"] for line in log_lines() if line["logger"] == "sms"]
    code = re.search(r": (\d{6})\.", sms).group(1)
    token = client.post("/v1/auth/verify", json={"phone": phone, "code": code}).get_json()["token"]
    client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    client.get(f"/v1/guests/{phone}", headers=bearer(key, None))

    lines = log_lines()
    everything = json.dumps(lines, ensure_ascii=False)
    assert key not in everything and token not in everything
    assert [line["logger"] for line in lines if code in json.dumps(line)] == ["sms"]
    assert len(access_lines(lines)) == 4


def test_a_failure_is_one_line_with_its_traceback_inside():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.operations.failure")
    logger.addHandler(handler)
    try:
        1 / 0  # noqa: B018 - the failure being logged
    except ZeroDivisionError:
        logger.exception("the nightly job failed", extra={"job": "expiry"})
    finally:
        logger.removeHandler(handler)

    [line] = stream.getvalue().splitlines()
    record = json.loads(line)
    assert (record["level"], record["message"], record["job"]) == (
        "ERROR", "the nightly job failed", "expiry",
    )  # fmt: skip
    assert "ZeroDivisionError" in record["exception"]
    assert "request_id" not in record  # logged outside any request


def test_a_command_of_the_service_writes_json_lines_on_stderr(tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BONUS_")}
    environ["BONUS_DATABASE_URL"] = f"sqlite:///{tmp_path / 'bonus.db'}"

    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "bonus", "init-db"],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip

    lines = [json.loads(line) for line in done.stderr.splitlines()]  # every line is JSON
    assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert any(line["logger"].startswith("alembic") for line in lines)
    assert done.stdout.startswith("database at revision ")


def test_a_bad_setting_is_one_line_and_gunicorns_boot_error_status(tmp_path):
    """Not a traceback per worker: exit status 3 also makes gunicorn's master stop instead of
    respawning workers that cannot boot."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BONUS_")}
    environ["BONUS_TIMEZONE"] = "Mars/Base"
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "bonus", "init-db"],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 3
    assert done.stderr.strip() == (
        "Bonus Engine cannot start: BONUS_TIMEZONE is not a known time zone: 'Mars/Base'")


def test_a_readiness_probe_logs_no_alembic_chatter(client, log_lines):
    """Two INFO lines from alembic per probe, every few seconds, where the docs promise the
    probes' lines at DEBUG."""
    assert client.get("/readyz").status_code == 200
    chatter = [line for line in log_lines() if line["logger"].startswith("alembic")]
    assert chatter == []


def test_a_database_error_names_no_parameter_values(app):
    """A 500's logged traceback held `[parameters: {... 'phone_1': '+7912…'}]`."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from bonus_service.app_db import get_db

    phone = new_phone()
    with get_db(app).unit_of_work(write=False) as session, pytest.raises(DBAPIError) as error:
        session.execute(text("SELECT * FROM no_such_table WHERE phone = :phone"), {"phone": phone})
    assert phone not in str(error.value)
    assert "hidden due to hide_parameters" in str(error.value)


def test_a_phone_in_a_path_is_masked_in_the_access_line(client, log_lines, make_key):
    key = make_key("operator")
    client.get("/v1/guests/+79123456789", headers=bearer(key, None))
    client.get("/v1/guests/%2B79123456780", headers=bearer(key, None))
    # the API reads a phone as people write it; the log must not show it in any of those forms
    client.get("/v1/guests/8-912-345-67-81", headers=bearer(key, None))
    client.get("/v1/guests/%2B7%20(912)%20345%2067%2082", headers=bearer(key, None))
    client.post("/v1/guests/8 912 345 67 83/adjustments", json={}, headers=bearer(key))
    paths = [line["path"] for line in access_lines(log_lines())]
    assert paths == ["/v1/guests/+7912***89", "/v1/guests/+7912***80", "/v1/guests/8-912***81",
                     "/v1/guests/+7 (9***82", "/v1/guests/8 912***83/adjustments"]
    logged = json.dumps(log_lines(), ensure_ascii=False)
    assert not any(tail in logged for tail in ("345-67", "345 67", "3456789", "3456780"))


LOCKED = OperationalError("SELECT 1", {}, Exception("database is locked"))


@pytest.mark.parametrize("error", [LOCKED, RuntimeError("a bug")])
def test_a_phone_in_a_path_is_masked_in_the_error_lines_too(app, log_lines, error):
    """The access line masked the phone, the 503 and 500 lines beside it printed it whole."""
    with app.test_request_context("/v1/guests/8-912-345-67-89/adjustments", method="POST"):
        answer = app.handle_user_exception(error)
    assert answer.status_code in (500, 503)
    [line] = [line for line in log_lines() if line["level"] in ("WARNING", "ERROR")]
    assert "8-912***89/adjustments" in line["message"]
    assert "345-67" not in json.dumps(log_lines(), ensure_ascii=False)
