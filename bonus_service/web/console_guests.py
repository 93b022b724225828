"""Console pages about guests: find by phone, register, adjust the balance with a reason.

Every action goes through the same service verbs as the API and is audited as the operator.
Only the `operator` and `supervisor` roles open them; a credit held for review is said so.
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for

import rules
import sms
from bonus_service import program
from bonus_service.app_db import get_db, unit_of_work
from bonus_service.clock import utcnow
from bonus_service.errors import DomainError, Invalid, RateLimited
from bonus_service.problems import retry_headers, status_of
from bonus_service.secrets_store import code_secret
from bonus_service.services import adjustments, guests, reasons, registrations
from bonus_service.sms_backend import sender
from bonus_service.web import csrf, fields, guest_card, wording
from bonus_service.web.console import GUEST_PAGES, actor, blp, operator_required
from rules.money import kopecks


@blp.get("", strict_slashes=False)
@operator_required
def home():
    return _home()


def _home(status: int = 200, search: dict | None = None, register: dict | None = None, **values):
    """The search and registration forms; `values` refill them: search_value, register_value."""
    page = render_template(
        "console_home.html",
        search=search or {},
        register=register or {},
        search_value=values.get("search_value", ""),
        register_value=values.get("register_value", ""),
    )
    return page, status


@blp.get("/guest")
@operator_required
@GUEST_PAGES
@csrf.same_origin_only
def guest():
    """Find a guest by phone in any common format; every lookup is audited."""
    typed = request.args.get("phone", "")
    try:
        phone = fields.phone(typed)
    except fields.FieldError as error:
        return _home(422, search={error.field: error.message}, search_value=typed)
    view = _looked_up(phone, request.args.get("before", type=int))
    if view is None:
        shown = wording.phone(phone)
        message = f"Гость с номером {shown} не зарегистрирован."
        return _home(404, {"phone": message}, search_value=typed, register_value=shown)
    return render_template("console_guest.html", card=view, errors={}, form={})


def _looked_up(phone: str, before: int | None = None) -> guest_card.GuestCard | None:
    """The guest's card, the lookup audited (committed) first; None for an unknown phone.
    Every card shown is a lookup: the one beside a refused form too (shown unaudited, it let
    an operator read any phone's card without a trace)."""
    now = utcnow()
    with unit_of_work() as db_session:
        found = guests.look_up(db_session, phone, actor(), now)
        db_session.commit()
    if found is None:
        return None
    with unit_of_work(write=False) as db_session:
        return guest_card.card(db_session, found, now, before)


def _card_page(phone: str, errors: dict, status: int, form):
    """The card again, with the form's errors."""
    view = _looked_up(phone)
    if view is None:
        abort(404)
    return render_template("console_guest.html", card=view, errors=errors, form=form), status


@blp.post("/guests")
@operator_required
@GUEST_PAGES
def register():
    """Register a guest by phone: the same path as POST /v1/guests, SMS included."""
    typed, settings = request.form.get("phone", ""), current_app.extensions["bonus_settings"]
    try:
        phone = fields.phone(typed)
        # The SMS first, outside any transaction (see services.registrations). A double
        # submit texts twice: the code is made from the operator's session (its CSRF token)
        # and the phone, so both messages carry the one code that is stored.
        code = sms.code_for(code_secret(), registrations.PURPOSE, actor(), csrf.token(), phone)
        registrations.text_code(get_db(), settings, sender(), phone, code, utcnow())
        with unit_of_work() as db_session:
            registrations.register_on_behalf(
                db_session, settings, code_secret(), phone, code, actor(), utcnow()
            )
            db_session.commit()
    except fields.FieldError as error:
        return _home(422, register={error.field: error.message}, register_value=typed)
    except DomainError as refusal:
        said = {"phone": _refused_registration(refusal)}
        page, status = _home(status_of(refusal), register=said, register_value=typed)
        return page, status, retry_headers(refusal)  # a 429's or a 503's Retry-After
    flash("Гость зарегистрирован: СМС с кодом для входа отправлено.")
    return redirect(url_for(".guest", phone=phone), 303)


def _refused_registration(refusal: DomainError) -> str:
    if isinstance(refusal, guests.AlreadyRegistered):
        return "Этот номер уже зарегистрирован — найдите гостя поиском."
    if isinstance(refusal, RateLimited):
        wait = wording.wait(refusal.retry_after)
        return f"На этот номер недавно уже отправляли СМС. Повторите через {wait}."
    if isinstance(refusal, Invalid):  # the SMS provider refused the number
        return "Оператор связи не принимает СМС на этот номер: гость не зарегистрирован."
    return "СМС сейчас не отправляются, гость не зарегистрирован. Попробуйте позже."


@blp.post("/adjust")
@operator_required
@GUEST_PAGES
def adjust():
    """A manual correction with a mandatory reason, refused if the account moved meanwhile;
    a credit past the review line or the day's total waits for a supervisor."""
    form = request.form
    try:
        phone = fields.phone(form.get("phone"))
    except fields.FieldError:
        abort(400)
    values, errors = _adjustment_fields(form)
    if errors:
        return _card_page(phone, errors, 422, form)
    amount = values["direction"] * values["amount"]
    with unit_of_work() as db_session:
        seen = form.get("seen", -1, type=int)
        done = _apply(db_session, phone, seen, amount, values["reason"])
        if isinstance(done, adjustments.Outcome):
            db_session.commit()
    if not isinstance(done, adjustments.Outcome):
        return _card_page(phone, *done, form)
    shown = wording.bonus_amount(kopecks(abs(amount)))
    if done.movement is None:
        flash(f"Начисление {shown} ждёт проверки (заявка №{done.record.id}): оно пройдёт, "
              "когда его одобрит другой старший смены. Через 72 часа без решения заявка "
              "истечёт.")  # fmt: skip
    else:
        verb = reasons.agreeing(abs(amount))["Начислено" if amount > 0 else "Списано"]
        flash(f"{verb} {shown}.")
    return redirect(url_for(".guest", phone=phone), 303)


def _apply(db_session, phone: str, seen: int, amount, reason: str):
    """Adjust (→ the Outcome), or say why not: (errors by field, status)."""
    if not guest_card.unchanged_since(db_session, phone, seen):
        stale = "Пока форма была открыта, баланс изменился. Проверьте историю и отправьте снова."
        return {"form": stale}, 409
    try:
        now = utcnow()
        return adjustments.adjust(
            db_session, phone, amount, reason, now, person=g.operator.name, via=actor(),
            step=program.in_force(now).quantum, settings=current_app.extensions["bonus_settings"],
        )  # fmt: skip
    except DomainError as refusal:
        return {"amount": _refused_adjustment(refusal)}, 422


def _adjustment_fields(form) -> tuple[dict, dict]:
    """Every field is checked, so the operator sees all mistakes at once."""
    values, errors = {}, {}
    for name, parse in (
        ("direction", fields.direction),
        ("amount", fields.amount),
        ("reason", fields.reason),
    ):
        try:
            values[name] = parse(form.get(name))
        except fields.FieldError as error:
            errors[error.field] = error.message
    return values, errors


def _refused_adjustment(refusal: DomainError) -> str:
    if isinstance(refusal, adjustments.OffStep):
        return f"Бонусы начисляются и списываются {rules.russian.spent_in(refusal.step)}."
    if isinstance(refusal, Invalid):
        return "Столько списать нельзя: у гостя меньше доступных бонусов."
    if isinstance(refusal, adjustments.OffTheLedger):
        return ("Баланс гостя расходится с историей начислений — корректировка его не исправит. "
                "Сообщите администратору: нужна сверка (bonus reconcile).")
    return "Корректировка не прошла. Обновите страницу и попробуйте снова."
