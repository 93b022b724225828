"""Who is calling: API keys with scopes for channel clients, tokens for guests."""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g, request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bonus_service.clock import utcnow
from bonus_service.db import run, unit_of_work
from bonus_service.models import ApiClient, ApiKey, Guest, GuestToken
from bonus_service.problems import Problem

SCOPES = ("checkout", "operator", "admin")
KEY_PREFIX = "bk_"
GUEST_TOKEN_PREFIX = "gt_"  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True)
class Caller:
    """An authenticated API client, as views see it (whichever of its keys called)."""

    id: int
    name: str
    scopes: frozenset[str]


def digest(secret: str) -> str:
    """Keys and tokens are 256-bit random, so a plain SHA-256 is the right hash to store."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_client(session: Session, name: str, scopes: list[str], now: datetime) -> str:
    """Store a new client with its first key and return the key, never stored or shown again."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {unknown or 'none'}")
    client = ApiClient(name=name, scopes=" ".join(sorted(set(scopes))), created_at=now)
    session.add(client)
    session.flush()
    return add_key(session, client, now)[0]


def add_key(session: Session, client: ApiClient, now: datetime) -> tuple[str, ApiKey]:
    """A new key for the client (its other keys keep working): the key, shown once, and its row."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(client_id=client.id, key_hash=digest(key), created_at=now)
    session.add(row)
    return key, row


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="bonus"'})


# A valid key is remembered this long per process, so a request costs no lookup of its own;
# it is also how long a revoked key keeps working in a running worker (docs/operations.md).
KEY_CACHE_SECONDS = 10.0


def _lookup(key_hash: str) -> Caller | None:
    cache = current_app.extensions.setdefault("bonus_key_cache", {})
    hit = cache.get(key_hash)
    if hit is not None and hit[1] > time.monotonic():
        return hit[0]
    with unit_of_work(write=False) as session:
        found = session.execute(
            select(ApiClient, ApiKey.revoked_at)
            .join(ApiKey, ApiKey.client_id == ApiClient.id)
            .where(ApiKey.key_hash == key_hash)
        ).first()
    client = found[0] if found else None
    if client is None or client.revoked_at is not None or found[1] is not None:
        cache.pop(key_hash, None)
        return None
    caller = Caller(client.id, client.name, client.scope_set)
    cache[key_hash] = (caller, time.monotonic() + KEY_CACHE_SECONDS)
    return caller


def forget_cached_keys() -> None:
    """Drop this process's remembered keys (after a revocation made here)."""
    current_app.extensions.pop("bonus_key_cache", None)


def authenticate_client() -> Caller:
    key = _bearer()
    if not key or not key.startswith(KEY_PREFIX):
        raise _unauthorized("An API key is required: Authorization: Bearer <key>.")
    caller = _lookup(digest(key))
    if caller is None:
        raise _unauthorized("The API key is not valid.")
    return caller


def require_scope(*scopes: str):
    """Views behind an API key holding any of `scopes`."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            caller = authenticate_client()
            if not caller.scopes.intersection(scopes):
                raise Problem(
                    403, f"This key lacks the scope this call needs: {' or '.join(scopes)}."
                )
            g.caller = caller
            return view(*args, **kwargs)

        return wrapper

    return decorate


TOKENS = GuestToken.__table__
_TOKEN = select(TOKENS.c.guest_id, TOKENS.c.code_purpose).where(
    TOKENS.c.token_hash == bindparam("token_hash"),
    TOKENS.c.revoked_at.is_(None),
    TOKENS.c.expires_at > bindparam("now", type_=TOKENS.c.expires_at.type),
)


def token_holder(session: Session, token: str | None, now: datetime) -> tuple[int, bool] | None:
    """(guest id, whether the token is consent to spend) for a live token, or None (one
    indexed Core SELECT). A token bought with an operator's registration code is no consent:
    that code is none either."""
    if not token or not token.startswith(GUEST_TOKEN_PREFIX):
        return None
    rows = run(session, _TOKEN, {"token_hash": digest(token), "now": now})
    return (rows[0][0], rows[0][1] != "registration") if rows else None


def guest_id_from_token(session: Session, token: str | None, now: datetime) -> int | None:
    """The id of the guest a live token belongs to, or None."""
    holder = token_holder(session, token, now)
    return holder[0] if holder else None


def guest_from_token(session: Session, token: str | None, now: datetime) -> Guest | None:
    """The guest a live token belongs to, or None."""
    guest_id = guest_id_from_token(session, token, now)
    return session.get(Guest, guest_id) if guest_id is not None else None


def require_guest(view):
    """Views for a logged-in guest: the guest's token as a Bearer."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        token = _bearer()
        with unit_of_work(write=False) as session:
            guest_id = guest_id_from_token(session, token, utcnow())
        if guest_id is None:
            raise _unauthorized("A valid guest token is required: log in with an SMS code.")
        g.guest_id = guest_id
        g.guest_token = token
        return view(*args, **kwargs)

    return wrapper
