"""The console's review of held adjustments: a supervisor approves or rejects another person's.

The same service verbs as POST /v1/adjustments/{id}/approve and /reject; every decision is
audited as the supervisor. A supervisor sees their own requests here but cannot decide them.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from bonus_service import program
from bonus_service.app_db import unit_of_work
from bonus_service.clock import utcnow
from bonus_service.errors import DomainError
from bonus_service.problems import status_of
from bonus_service.services import adjustments
from bonus_service.web import fields, wording
from bonus_service.web.console import SUPERVISOR_PAGES, actor, blp, operator_required

STATUS_WORDS = {"applied": "уже проведена", "rejected": "уже отклонена",
                "lapsed": "истекла: 72 часа прошли без решения"}  # fmt: skip


@blp.get("/review")
@operator_required
@SUPERVISOR_PAGES
def review():
    return _review_page()


def _review_page(status: int = 200, errors: dict | None = None, form=None):
    """The pending adjustments, oldest first (the queue); `errors` by adjustment id."""
    now = utcnow()
    with unit_of_work(write=False) as db_session:
        pending, _ = adjustments.listed(db_session, now, status="pending", limit=100)
    page = render_template(
        "console_review.html", pending=list(reversed(pending)), errors=errors or {},
        form=form or {}, held_words=wording.HELD,
    )  # fmt: skip
    return page, status


@blp.post("/review/<int:adjustment_id>/approve")
@operator_required
@SUPERVISOR_PAGES
def approve(adjustment_id: int):
    """Apply a held credit now; a second click, or another supervisor first, finds it decided."""
    now = utcnow()
    with unit_of_work() as db_session:
        try:
            outcome = adjustments.approve(
                db_session, adjustment_id, now, person=g.operator.name, via=actor(),
                step=program.in_force(now).quantum,
            )  # fmt: skip
        except DomainError as refusal:
            return _refused(adjustment_id, refusal)
        db_session.commit()
    amount = wording.bonus_amount(abs(outcome.record.amount))
    flash(f"Заявка №{adjustment_id} одобрена: гостю {wording.phone(outcome.record.phone)} "
          f"начислено {amount}.")  # fmt: skip
    return redirect(url_for(".review"), 303)


@blp.post("/review/<int:adjustment_id>/reject")
@operator_required
@SUPERVISOR_PAGES
def reject(adjustment_id: int):
    """Refuse a held credit for good, with a reason."""
    try:
        why = fields.reason(request.form.get("reason"))
    except fields.FieldError as error:
        return _review_page(422, {adjustment_id: error.message}, request.form)
    now = utcnow()
    with unit_of_work() as db_session:
        try:
            record = adjustments.reject(db_session, adjustment_id, why, now,
                                        person=g.operator.name, via=actor())  # fmt: skip
        except DomainError as refusal:
            return _refused(adjustment_id, refusal)
        db_session.commit()
    flash(f"Заявка №{adjustment_id} отклонена: {wording.bonus_amount(record.amount)} "
          "не начислены.")  # fmt: skip
    return redirect(url_for(".review"), 303)


def _refused(adjustment_id: int, refusal: DomainError):
    """The queue again, the refusal beside the adjustment (or on top, if it left the queue)."""
    if isinstance(refusal, adjustments.NotDecidable):
        message = f"Заявка №{adjustment_id} {STATUS_WORDS.get(refusal.status, refusal.status)}."
    elif isinstance(refusal, adjustments.PersonRefused):
        message = "Свою заявку одобряет или отклоняет другой старший смены."
    elif isinstance(refusal, adjustments.UnknownAdjustment):
        message = f"Заявки №{adjustment_id} нет."
    elif isinstance(refusal, adjustments.OffTheLedger):
        message = ("Баланс гостя расходится с историей начислений — сначала нужна сверка "
                   "(bonus reconcile).")  # fmt: skip
    else:
        message = "Решение не прошло. Обновите страницу и попробуйте снова."
    flash(message)
    return _review_page(status_of(refusal))
