"""Credentials as stored: API clients and their keys, guest tokens, and the hash they are
kept by. No request is read here (that is `auth`): services and the CLI use it alike."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bonus_service.db import run
from bonus_service.models import ApiClient, ApiKey, Guest, GuestToken

SCOPES = ("checkout", "operator", "admin")
KEY_PREFIX = "bk_"
GUEST_TOKEN_PREFIX = "gt_"  # noqa: S105 - a prefix, not a secret


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
