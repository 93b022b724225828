"""Health, readiness, the OpenAPI spec and its browsable page, configuration."""

import os

import pytest

from bonus_service.app import create_app
from bonus_service.settings import SettingsError, from_environment
from tests.support.http import bearer


def test_healthz_says_ok(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_checks_the_database(client):
    assert client.get("/readyz").get_json() == {"status": "ready"}


def test_readyz_is_a_503_problem_when_the_database_is_gone(tmp_path):
    app = create_app(
        {
            "database_url": f"sqlite:///{tmp_path}/missing/dir/x.db",
            "secret_key": "s",
            "scheduler_enabled": False,
        }
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"


def test_the_openapi_spec_is_generated_from_the_schemas(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/v1/auth/sms-code" in spec["paths"]
    assert "apiKey" in spec["components"]["securitySchemes"]


def test_the_guest_token_header_is_documented_beside_the_idempotency_key(client):
    """It was named only in the 403's text: a client generated from the spec could not send
    the guest's consent (a contract audit)."""
    operation = client.get("/openapi.json").get_json()["paths"]["/v1/orders"]["post"]
    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
    assert set(headers) == {"Idempotency-Key", "X-Guest-Token"}
    assert (headers["Idempotency-Key"]["required"], headers["X-Guest-Token"]["required"]) == (
        True, False)


def test_a_views_own_error_description_is_kept_beside_the_standard_one(client):
    """flask-smorest keys alt_response by int; the standard "403" (a str) used to replace the
    view's description, so the spec never said that 403 also means "no consent"."""
    responses = client.get("/openapi.json").get_json()["paths"]["/v1/orders"]["post"]["responses"]
    assert responses["403"]["description"].startswith("Redeeming without the guest's consent")
    assert "Or: The API key lacks the scope" in responses["403"]["description"]
    assert responses["409"]["description"].startswith("The order id is already used.")
    assert "Idempotency-Key is still being processed" in responses["409"]["description"]
    assert responses["429"]["description"].startswith("Too many wrong confirmation codes")
    assert "Retry-After" in responses["429"]["headers"]


def test_a_write_without_a_body_still_documents_the_body_refusals_it_answers(client, make_key):
    """complete and cancel take no body, yet a body that is too large or not JSON is refused
    before the view runs, as on every /v1 write; the spec did not say so."""
    spec = client.get("/openapi.json").get_json()
    for action in ("complete", "cancel"):
        responses = spec["paths"][f"/v1/orders/{{order_id}}/{action}"]["post"]["responses"]
        assert {"413", "415"} <= set(responses)
    refused = client.post(
        "/v1/orders/A-1/cancel", data="hello", content_type="text/plain",
        headers=bearer(make_key("checkout"), "k"),
    )  # fmt: skip
    assert refused.status_code == 415


def test_the_docs_page_is_served_with_its_assets(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert b"swagger" in page.data.lower()
    assert client.get("/docs/static/swagger-ui-bundle.js").status_code == 200


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BONUS_SMS_BACKEND", "pigeon"),
        ("BONUS_TIMEZONE", "Mars/Olympus"),
        ("BONUS_PROXY_HOPS", "-1"),
        ("BONUS_SMS_PER_ADDRESS_HOUR", "many"),
        ("BONUS_DATABASE_URL", "mysql://x"),
        ("BONUS_SCHEDULER", "perhaps"),
        ("BONUS_TYPO_SETTING", "1"),
        # past any sane value the time sums overflowed: every login code was a 500
        ("BONUS_CODE_ATTEMPTS", "99999999999999999999"),
        ("BONUS_TOKEN_TTL_DAYS", "99999999999999999999"),
        ("BONUS_CODE_TTL_SECONDS", "99999999999999999999"),
        ("BONUS_SECRET_KEY", "x"),  # a key one could guess
        # set but empty (a secret the unit file did not render): not the SQLite default
        ("BONUS_DATABASE_URL", ""),
        ("BONUS_SECRET_KEY", "  "),
        ("TWILIO_FROM_NUMBER", "+7900"),
        ("TWILIO_FROM_NUMBER", "89001234567"),  # not E.164
        ("BONUS_ALLOWED_COUNTRY_CODES", "7,99999"),
        # under a day, the SMS limits would forget the codes they count
        ("BONUS_SMS_SENDS_KEEP_DAYS", "0"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_the_variable(variable, value):
    with pytest.raises(SettingsError, match=variable):
        from_environment({variable: value})


def test_a_twilio_sender_is_a_number_or_a_sender_id():
    assert from_environment({"TWILIO_FROM_NUMBER": "+79001234567"}).twilio_from_number == (
        "+79001234567")
    assert from_environment({"TWILIO_FROM_NUMBER": "VilkiNet"}).twilio_from_number == "VilkiNet"
    assert from_environment({"TWILIO_FROM_NUMBER": "12345"}).twilio_from_number == "12345"


def test_twilio_without_credentials_stops_start_up(tmp_path, monkeypatch):
    monkeypatch.setenv("BONUS_SMS_BACKEND", "twilio")
    with pytest.raises(SettingsError, match="TWILIO_ACCOUNT_SID"):
        create_app({"database_url": f"sqlite:///{tmp_path}/x.db", "scheduler_enabled": False})


def test_settings_parse_the_documented_variables():
    settings = from_environment(
        {
            "BONUS_PROXY_HOPS": "2",
            "BONUS_TIMEZONE": "Asia/Yekaterinburg",
            "BONUS_SMS_PER_ADDRESS_HOUR": "7",
        }
    )
    assert (settings.proxy_hops, settings.timezone, settings.sms_per_address_hour) == (
        2,
        "Asia/Yekaterinburg",
        7,
    )


def test_a_coroutine_function_still_goes_through_flasks_async_wrapper(app):
    async def view():
        return "async"

    # Flask's own answer: without the async extra installed it refuses, so it is never
    # returned as it is (which would hand the server a coroutine instead of a response)
    try:
        wrapped = app.ensure_sync(view)
    except RuntimeError as error:
        assert "async" in str(error)
    else:
        assert wrapped is not view


def test_no_secret_key_beside_postgresql_is_warned_about(tmp_path, caplog):
    """Several machines on one database each made their own key: a code texted by one was
    refused by the next."""
    from flask import Flask

    from bonus_service import secrets_store
    from bonus_service.settings import Settings

    app = Flask(__name__, instance_path=str(tmp_path))
    secrets_store.init_app(app, Settings(database_url="postgresql+psycopg://h/db"))
    assert "BONUS_SECRET_KEY is not set" in caplog.text
    caplog.clear()
    secrets_store.init_app(app, Settings(database_url="sqlite:///x.db"))  # one machine
    assert "BONUS_SECRET_KEY" not in caplog.text


def test_workers_starting_together_share_one_whole_instance_key(tmp_path):
    """The key file was created in place and then written: a worker starting a moment later
    could read it empty and hash every login code with no key at all."""
    from concurrent.futures import ProcessPoolExecutor

    from bonus_service.secrets_store import _instance_secret

    folders = [str(tmp_path / f"instance{n}") for n in range(150)]
    with ProcessPoolExecutor(8) as pool:
        keys = list(pool.map(_instance_secret, [f for f in folders for _ in range(8)]))
    for n, folder in enumerate(folders):
        mine = set(keys[n * 8:(n + 1) * 8])
        assert len(mine) == 1 and len(mine.pop()) == 64, folder
        assert os.listdir(folder) == ["secret.key"]  # no draft left behind


def test_a_key_file_another_worker_is_still_writing_is_waited_for(tmp_path):
    """The race above, made certain: the file exists, empty, and its key comes a moment later."""
    import threading

    from bonus_service.secrets_store import _instance_secret

    (tmp_path / "secret.key").touch()
    threading.Timer(0.05, (tmp_path / "secret.key").write_text, ["k" * 64]).start()
    assert _instance_secret(str(tmp_path)) == b"k" * 64
