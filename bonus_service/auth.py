"""Who is calling: API keys with scopes for channel clients, tokens for guests."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

from flask import current_app, g, request
from sqlalchemy import select

from bonus_service.app_db import unit_of_work
from bonus_service.clock import utcnow
from bonus_service.credentials import KEY_PREFIX, digest, guest_id_from_token
from bonus_service.models import ApiClient, ApiKey
from bonus_service.problems import Problem


@dataclass(frozen=True)
class Caller:
    """An authenticated API client, as views see it (whichever of its keys called)."""

    id: int
    name: str
    scopes: frozenset[str]


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
