"""Idempotency-Key: the first answer to a key is stored with the effect and replayed after.

A call claims its key in a short transaction of its own (so a concurrent duplicate sees the claim
and gets 409), then runs the effect in a second transaction that also stores the answer, guarded
by the claim's lease: if the lease was lost, the effect rolls back. A replay returns the stored
bytes. Answers that say "try again" (409, 429, 5xx) are not stored: the claim is released.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta

from flask import Response, current_app, g, request
from flask_smorest import Blueprint
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from bonus_service.clock import utcnow
from bonus_service.db import get_db
from bonus_service.models import IdempotencyRecord
from bonus_service.problems import Problem, problem_response

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
# documented on every idempotent operation, so clients (and schemathesis) see it is required
HEADER_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": True,
    "description": "A key per intended effect: a retry with the same key and body replays the "
    "first answer and changes nothing more.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
}


def _lease() -> timedelta:
    """How long a claim holds its key before a retry may take over the dead attempt's place."""
    return timedelta(seconds=current_app.extensions["bonus_settings"].idempotency_lease_seconds)


def _request_hash() -> str:
    body = request.get_data(cache=True)
    return hashlib.sha256(
        b"%s %s\n%s" % (request.method.encode(), request.path.encode(), body)
    ).hexdigest()


def _key() -> str:
    key = request.headers.get(HEADER, "").strip()
    if not key:
        raise Problem(
            400, f"The {HEADER} header is required on this call.", errors={HEADER: "missing"}
        )
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Problem(
            400,
            f"{HEADER} must be at most {MAX_KEY_LENGTH} printable characters.",
            errors={HEADER: "too long or not printable"},
        )
    return key


_CLAIM = insert(IdempotencyRecord).returning(IdempotencyRecord.id)


def _claim(client_id: int, key: str, request_hash: str) -> tuple[int, str] | Response:
    """Claim the key, or answer for it: a replay, a 422 for another body, a 409 while running."""
    db, now, lease = get_db(), utcnow(), secrets.token_hex(8)
    # a claim lost in a crash is harmless: the retry claims again, and no effect came with it
    with db.unit_of_work(durable=False) as session:
        try:
            record_id = session.execute(_CLAIM, {
                "client_id": client_id, "key": key, "request_hash": request_hash,
                "lease": lease, "lease_until": now + _lease(), "created_at": now,
            }).scalar_one()  # fmt: skip
            session.commit()
            return record_id, lease
        except IntegrityError:
            session.rollback()
    with db.unit_of_work() as session:
        record = session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.client_id == client_id, IdempotencyRecord.key == key
            )
        )
        if record is None:  # released between our insert and this read: the caller may retry
            raise _busy()
        if record.request_hash != request_hash:
            raise Problem(
                422,
                f"This {HEADER} was used with another request body.",
                errors={HEADER: "reused with a different request"},
            )
        if record.status_code is not None:
            return Response(
                record.body,
                status=record.status_code,
                content_type=record.content_type,
                headers={"Idempotent-Replayed": "true"},
            )
        if record.lease_until > now:
            raise _busy()
        # The first attempt died without an answer: take its place.
        taken = session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.id == record.id,
                IdempotencyRecord.lease == record.lease,
                IdempotencyRecord.status_code.is_(None),
            )
            .values(lease=lease, lease_until=now + _lease())
        )
        session.commit()
        if taken.rowcount != 1:
            raise _busy()
        return record.id, lease


def _busy() -> Problem:
    return Problem(
        409,
        f"A request with this {HEADER} is still being processed; retry shortly.",
        headers={"Retry-After": "1"},
    )


def _store(session, record_id: int, lease: str, response: Response) -> bool:
    result = session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == record_id,
            IdempotencyRecord.lease == lease,
        )
        .values(
            status_code=response.status_code,
            content_type=response.content_type,
            body=response.get_data(),
            lease=None,
            lease_until=None,
        )
    )
    return result.rowcount == 1


def _release(record_id: int, lease: str) -> None:
    with get_db().unit_of_work() as session:
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.id == record_id, IdempotencyRecord.lease == lease
            )
        )
        session.commit()


def _retryable(status: int) -> bool:
    return status in (409, 429) or status >= 500


def idempotent(view):
    """Run the view once per (API key, Idempotency-Key); the view writes through g.session."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        claimed = _claim(g.caller.id, _key(), _request_hash())
        if isinstance(claimed, Response):
            return claimed
        record_id, lease = claimed
        with get_db().unit_of_work() as session:
            g.session = session
            try:
                response = current_app.make_response(view(*args, **kwargs))
            except HTTPException as error:
                session.rollback()
                response = problem_response(error)
            except Exception:
                _release(record_id, lease)
                raise
            if _retryable(response.status_code):
                session.rollback()
                _release(record_id, lease)
                return response
            if not _store(session, record_id, lease, response):
                session.rollback()
                raise _busy()
            session.commit()
        return response

    return Blueprint.doc(parameters=[HEADER_PARAMETER])(wrapper)


def purge(session, older_than) -> int:
    """Forget answered keys older than the retention (at least 24 h)."""
    result = session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.created_at < older_than, IdempotencyRecord.status_code.is_not(None)
        )
    )
    return result.rowcount
