"""The console's audit view: who did what and why, newest first, a page at a time.

For supervisors only; opening it is itself an audited action (the log names the people behind
every guest lookup and adjustment)."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from bonus_service.app_db import unit_of_work
from bonus_service.clock import utcnow
from bonus_service.dbutil import MAX_INTEGER_ID, older_than
from bonus_service.models import AuditEntry
from bonus_service.services import audit
from bonus_service.web import csrf
from bonus_service.web.console import SUPERVISOR_PAGES, actor, blp, operator_required

PAGE = 50
ACTIONS = {
    "guest.lookup": "Просмотр гостя",
    "guest.register": "Регистрация гостя",
    "guest.adjust": "Корректировка баланса",
    "adjustment.request": "Корректировка ждёт проверки",
    "adjustment.approve": "Корректировка одобрена",
    "adjustment.reject": "Корректировка отклонена",
    "adjustment.lapse": "Корректировка истекла без решения",
    "audit.view": "Просмотр журнала",
    "console.refused": "Страница недоступна роли",
    "order.view": "Просмотр заказа",
    "operator.login": "Вход в консоль",
    "operator.login_refused": "Вход не удался",
    "operator.logout": "Выход из консоли",
    "operator.create": "Создан оператор",
    "operator.password_reset": "Оператору задан новый пароль",
    "operator.disable": "Оператор отключён",
    "zone.put": "Зона доставки изменена",
    "client.create": "Выдан API-ключ",
    "client.revoke": "API-ключ отозван",
}


def audit_page(session: Session, before: int | None) -> tuple[list[AuditEntry], int | None]:
    """A page of entries older than `before` (keyset: stable while new entries arrive)."""
    query = select(AuditEntry)
    if (older := older_than(AuditEntry.id, before, MAX_INTEGER_ID)) is not None:
        query = query.where(older)
    entries = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(PAGE + 1)))
    return entries[:PAGE], (entries[PAGE - 1].id if len(entries) > PAGE else None)


@blp.get("/audit")
@operator_required
@SUPERVISOR_PAGES
@csrf.same_origin_only
def audit_log():
    before = request.args.get("before", type=int)
    with unit_of_work() as db_session:  # the opening is recorded first, and shows on the page
        audit.record(db_session, actor(), "audit.view", None, utcnow(), older_than=before)
        db_session.commit()
    with unit_of_work(write=False) as db_session:
        entries, next_before = audit_page(db_session, before)
    return render_template(
        "console_audit.html", entries=entries, next_before=next_before, actions=ACTIONS
    )
