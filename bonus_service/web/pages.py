"""What every page shares: the stylesheet, the CSRF check, safe headers and HTML error pages."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, render_template, request
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
)

from bonus_service.http import UNSTORABLE
from bonus_service.web import csrf, wording

log = logging.getLogger(__name__)

# The stylesheet, and nothing else: the pages run no script at all.
blp = Blueprint(
    "pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/pages/static",
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

TITLES = {
    400: "Запрос не понят",
    403: "Доступ запрещён",
    404: "Страница не найдена",
    405: "Действие недоступно",
    413: "Слишком большой запрос",
    429: "Слишком много запросов",
    500: "Что-то пошло не так",
    503: "Сервис временно недоступен",
}
MESSAGES = {
    400: "В форме есть символы, которые нельзя сохранить. Уберите их и отправьте снова.",
    404: "Такой страницы нет. Проверьте адрес или начните с главной.",
    405: "Эта страница так не открывается. Вернитесь назад и воспользуйтесь кнопками на ней.",
    413: "Форма слишком большая. Сократите текст и отправьте снова.",
    500: "Мы уже знаем об ошибке и разбираемся. Попробуйте ещё раз чуть позже.",
}


def serve_as_pages(page_blueprint: Blueprint, *, private: bool) -> None:
    """Give a page blueprint the CSRF check, the headers and HTML errors instead of JSON."""
    page_blueprint.before_request(_refuse_unstorable)
    page_blueprint.before_request(csrf.check)
    page_blueprint.after_request(lambda response: _headers(response, private))
    page_blueprint.register_error_handler(HTTPException, error_page)
    page_blueprint.register_error_handler(Exception, _unexpected)
    if page_blueprint.url_prefix:  # a mistyped address under the prefix gets a page, not JSON
        page_blueprint.add_url_rule(
            "/<path:anything>", "not_found", _not_found, methods=["GET", "POST"]
        )


def _headers(response: Response, private: bool) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if private:  # a balance or an operator's screen must not stay in a shared cache
        response.headers["Cache-Control"] = "no-store"
    return response


# the pages' addresses: their errors are pages even where no page blueprint caught them (a
# method no rule takes is refused while routing, before any blueprint is known)
PAGE_PREFIXES = ("/cabinet", "/console", "/rules")


def is_page(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES)


def _refuse_unstorable() -> None:
    """NUL or a lone surrogate in a form or query value: no database could store it (PostgreSQL
    refuses NUL outright), so it is a page saying so, not a 500."""
    for values in (request.args, request.form):
        if any(UNSTORABLE.search(value) for value in values.values()):
            raise BadRequest()


def _not_found(anything: str):
    """No page here for this method: 405 if the address takes another one, else 404."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = [method for method in ("GET", "POST")
               if method != request.method and _routes(adapter, method)]  # fmt: skip
    if allowed:
        raise MethodNotAllowed(valid_methods=allowed)
    raise NotFound()


def _routes(adapter, method: str) -> bool:
    try:
        endpoint, _ = adapter.match(request.path, method=method)
    except HTTPException:
        return False
    return not endpoint.endswith(".not_found")


def error_page(error: HTTPException) -> tuple[str, int, dict]:
    """An HTTP error as a Russian page, with the headers the error carries (Retry-After)."""
    status = error.code or 500
    message = MESSAGES.get(status) or error.description or ""
    if not _is_russian(message):  # services explain in English, for the API's clients
        message = TITLES.get(status, "")
    headers = {**dict(error.get_headers()), **getattr(error, "extra_headers", {})}
    headers.pop("Content-Type", None)
    if status == 429 and str(headers.get("Retry-After", "")).isdigit():
        message = f"Повторите через {wording.wait(int(headers['Retry-After']))}."
    # the console's errors keep the console's header (no guest navigation in it)
    layout = "console_base.html" if request.path.startswith("/console") else "base.html"
    body = render_template(
        "error.html", status=status, title=TITLES.get(status, "Ошибка"), message=message,
        layout=layout,
    )  # fmt: skip
    return body, status, {**headers, **SECURITY_HEADERS}


def _is_russian(text: str) -> bool:
    return any("а" <= letter.lower() <= "я" for letter in text)


def _unexpected(error: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_page(InternalServerError())
