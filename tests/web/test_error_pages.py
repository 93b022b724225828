"""Pages answer errors with Russian HTML; the API keeps answering problem+json."""

from tests.support.pages import text


def test_a_mistyped_page_address_gets_a_russian_page(client):
    answer = client.get("/cabinet/balanse")
    assert answer.status_code == 404
    assert answer.mimetype == "text/html"
    assert "Страница не найдена" in text(answer)


def test_the_api_still_answers_problem_json(client):
    answer = client.get("/v1/nothing-here")
    assert answer.status_code == 404
    assert answer.mimetype == "application/problem+json"


def test_the_console_pages_need_a_login(client):
    for path in ("/console", "/console/audit", "/console/guest?phone=89120001000"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.location.endswith("/console/login"), path


def test_a_trailing_slash_still_finds_the_cabinet(client):
    assert client.get("/cabinet/").status_code == 200


def test_a_console_error_keeps_the_console_header_not_the_guests(client):
    answer = client.get("/console/nothing-here")
    assert answer.status_code == 404
    page = text(answer)
    assert "Страница не найдена" in page and "Личный кабинет" not in page
    assert "Личный кабинет" in text(client.get("/cabinet/nothing-here"))


def test_a_too_many_requests_page_says_when_to_try_again(app):
    from werkzeug.exceptions import TooManyRequests

    from bonus_service.web.pages import error_page

    with app.test_request_context("/cabinet/code"):
        body, status, headers = error_page(TooManyRequests(retry_after=90))
    assert status == 429 and headers["Retry-After"] == "90"
    assert "Повторите через 2\u00a0минуты." in body
