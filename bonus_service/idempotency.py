"""Idempotency-Key: the first answer to a key is stored with the effect and replayed after.

The key is claimed inside the effect's own transaction, by an INSERT that the answer then
completes, and commits with the effect or not at all: a call that dies leaves nothing behind, so
its retry simply runs. On PostgreSQL the claim also takes a transaction-scoped advisory lock on
the key (`pg_try_advisory_xact_lock`), so a duplicate that arrives while the first is running
finds the lock taken and answers 409 with Retry-After at once instead of waiting; the unique
(client, key) index stays the final arbiter. On SQLite writers are serialised (BEGIN IMMEDIATE),
so a duplicate waits for the first to finish and replays its answer.

A refusal (a 4xx the view raised) rolls its effect back and is stored on its own. Answers that
say "try again" (404, 409, 429, 5xx) are not stored at all.
"""

from __future__ import annotations

import functools
import hashlib
from typing import NamedTuple

from flask import Response, current_app, g, request
from flask_smorest import Blueprint
from sqlalchemy import Integer, LargeBinary, String, bindparam, func, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from bonus_service.app_db import get_db
from bonus_service.clock import utcnow
from bonus_service.db import run
from bonus_service.errors import DomainError
from bonus_service.models import IdempotencyRecord, UTCDateTime
from bonus_service.problems import Problem, problem_response

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
# documented on every idempotent operation, so clients (and schemathesis) see it is required
# the mark of an idempotent operation in its OpenAPI document, replaced by HEADER_PARAMETER
IDEMPOTENT_OPERATION = "x-idempotent"
HEADER_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": True,
    "description": "A key per intended effect: a retry with the same key and body replays the "
    "first answer and changes nothing more.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
}
RECORDS = IdempotencyRecord.__table__
COLUMNS = ("client_id", "key", "request_hash", "created_at", "status_code", "content_type", "body")
_TYPES = {
    "client_id": Integer(), "key": String(), "request_hash": String(), "created_at": UTCDateTime(),
    "status_code": Integer(), "content_type": String(), "body": LargeBinary(),
}  # fmt: skip


def _claim_statement(dialect: str):
    """INSERT the record unless its key is taken (or in use, on PostgreSQL) → id or nothing."""
    values = [bindparam(f"v_{name}", type_=_TYPES[name]) for name in COLUMNS]
    if dialect == "postgresql":
        guarded = select(*values).where(func.pg_try_advisory_xact_lock(bindparam("lock")))
        statement = postgresql.insert(RECORDS).from_select(COLUMNS, guarded)
    else:
        # SQLite needs a WHERE to tell the SELECT's end from ON CONFLICT
        statement = sqlite.insert(RECORDS).from_select(COLUMNS, select(*values).where(true()))
    return statement.on_conflict_do_nothing(index_elements=["client_id", "key"]).returning(
        RECORDS.c.id
    )


# Prebuilt per dialect: building them per request cost more than running them.
_CLAIMS = {name: _claim_statement(name) for name in ("postgresql", "sqlite")}
_FIND = select(
    RECORDS.c.request_hash, RECORDS.c.status_code, RECORDS.c.content_type, RECORDS.c.body
).where(RECORDS.c.client_id == bindparam("client_id"), RECORDS.c.key == bindparam("key"))
_ANSWER = (
    RECORDS.update()
    .where(RECORDS.c.id == bindparam("record_id"))
    .values(
        status_code=bindparam("v_status_code"),
        content_type=bindparam("v_content_type"),
        body=bindparam("v_body"),
    )
)


_FORGET = RECORDS.delete().where(RECORDS.c.id == bindparam("record_id"))


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


def _lock_id(client_id: int, key: str) -> int:
    """The key's advisory lock: 64 bits of its hash (a collision only costs a retry)."""
    digest = hashlib.sha256(b"%d\0%s" % (client_id, key.encode())).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _claim(session: Session, client_id: int, key: str, request_hash: str, answer=None):
    """Insert the key's record in the session's transaction → its id, or None if taken."""
    status, content_type, body = (
        (answer.status_code, answer.content_type, answer.get_data()) if answer else (None,) * 3
    )
    params = {
        "v_client_id": client_id, "v_key": key, "v_request_hash": request_hash,
        "v_created_at": utcnow(), "v_status_code": status, "v_content_type": content_type,
        "v_body": body, "lock": _lock_id(client_id, key),
    }  # fmt: skip
    statement = _CLAIMS[session.get_bind().dialect.name]
    rows = run(session, statement, params)
    return rows[0][0] if rows else None


def _answer_for(client_id: int, key: str, request_hash: str) -> Response:
    """The key is taken: replay its answer, refuse another body (422), or say it is running."""
    answer = _stored_answer(client_id, key, request_hash)
    if answer is None:
        # in use by a call still running (or one that just rolled back): try again shortly
        raise _busy()
    return answer


def _stored_answer(client_id: int, key: str, request_hash: str) -> Response | None:
    """The key's stored answer to replay (or 422 for another body); None if it has none."""
    with get_db().unit_of_work(write=False) as session:
        record = session.execute(_FIND, {"client_id": client_id, "key": key}).first()
    if record is None:
        return None
    if record.status_code is None:  # a claim left by the previous release's lease
        raise _busy()
    if record.request_hash != request_hash:
        raise Problem(
            422,
            f"This {HEADER} was used with another request body.",
            errors={HEADER: "reused with a different request"},
        )
    return Response(
        record.body,
        status=record.status_code,
        content_type=record.content_type,
        headers={"Idempotent-Replayed": "true"},
    )


def _busy() -> Problem:
    return Problem(
        409,
        f"A request with this {HEADER} is still being processed; retry shortly.",
        headers={"Retry-After": "1"},
    )


def _store_refusal(client_id: int, key: str, request_hash: str, response: Response) -> Response:
    """Keep a refusal's answer (its effect was rolled back) in a transaction of its own."""
    with get_db().unit_of_work() as session:
        if _claim(session, client_id, key, request_hash, answer=response) is not None:
            session.commit()
            return response
    # a duplicate ran (or is running) in between: its answer is the key's answer
    return _answer_for(client_id, key, request_hash)


def _commit(session: Session, record_id: int, response: Response) -> Response:
    """Commit the call's writes with its answer stored on the key (not kept if retryable)."""
    if _retryable(response.status_code):
        # nothing is kept for the key: a retry runs again (a claim left unanswered would
        # answer "still running" to every retry until purged)
        run(session, _FORGET, {"record_id": record_id})
    else:
        run(session, _ANSWER, {
            "record_id": record_id, "v_status_code": response.status_code,
            "v_content_type": response.content_type, "v_body": response.get_data(),
        })  # fmt: skip
    session.commit()
    return response


def _retryable(status: int) -> bool:
    # 404 too: "no such order (or guest) yet" can be a complete that overtook its order's
    # still-running place; kept, it would answer every retry of that key with 404 for good
    return status in (404, 409, 429) or status >= 500


def idempotent(view=None, *, before=None):
    """Run the view once per (API key, Idempotency-Key); the view writes through the session
    it is given (keyword `session`), in the transaction that stores its answer.

    `before(*args, **kwargs)`, if given, runs first, outside any transaction, unless the key
    already has an answer to replay: for work that must not hold the database while it waits
    (registration texts its SMS there). What it leaves on `g` the view reads; a refusal it
    raises is kept for the key as the view's would be, and a "try again" it raises gives way
    to the key's answer if the first call committed one meanwhile. A duplicate that arrives
    while the first call runs also runs `before` (the key's claim is not visible before it
    commits), so what `before` does must be safe to do twice for one key. `before` reads the
    body itself: the view's arguments are parsed after the key is checked, as on every call.
    """
    if view is None:
        return functools.partial(idempotent, before=before)

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        call = _Call(g.caller.id, _key(), _request_hash())
        g.idempotency = (call.client_id, call.key)
        if before is not None:
            early = _before_the_claim(call, before, args, kwargs)
            if early is not None:
                return early
        return _once(call, view, args, kwargs)

    # Marked, not documented here: flask-smorest's doc() replaces a list rather than merging
    # it, so a `parameters` given here would drop the view's own (X-Guest-Token). The spec's
    # plugin (api/spec_docs.py) adds the header to a marked operation's final parameters.
    return Blueprint.doc(**{IDEMPOTENT_OPERATION: True})(wrapper)


class _Call(NamedTuple):
    client_id: int
    key: str
    request_hash: str


def _before_the_claim(call: _Call, before, args, kwargs) -> Response | None:
    """The stored answer to replay, or the refusal of `before`; None to go on to the claim."""
    answered = _stored_answer(*call)
    if answered is not None:
        return answered
    try:
        before(*args, **kwargs)
    except (HTTPException, DomainError) as error:
        response = problem_response(error)
        if _retryable(response.status_code):
            # the first call may have committed in between ("already registered" by itself)
            return _stored_answer(*call) or response
        return _refused(call, response)
    return None


def _once(call: _Call, view, args, kwargs) -> Response:
    """Claim the key and run the view in one transaction, which the answer commits."""
    with get_db().unit_of_work() as session:
        record_id = _claim(session, *call)
        if record_id is None:
            session.rollback()
            return _answer_for(*call)
        try:
            # the view writes through this session: the unit of work is opened here, at the
            # boundary, and handed down as an argument
            response = current_app.make_response(view(*args, session=session, **kwargs))
        except (HTTPException, DomainError) as error:
            response = problem_response(error)
            if getattr(error, "keep_writes", False):
                # a refusal whose writes stand (a wrong SMS code's counted try): they
                # commit with the key answered, or freed when the answer says "try again"
                return _commit(session, record_id, response)
            session.rollback()  # the effect and the claim with it
            return _refused(call, response)
        # any other exception leaves the block: close() rolls the effect and claim back
        if _retryable(response.status_code):
            return response  # not kept, and neither is the effect: close() rolls back
        return _commit(session, record_id, response)


def _refused(call: _Call, response: Response) -> Response:
    """A refusal with nothing written: kept for the key, unless it says "try again"."""
    if _retryable(response.status_code):
        return response
    return _store_refusal(*call, response)

