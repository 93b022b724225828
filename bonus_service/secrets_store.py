"""The HMAC secret for login codes: BONUS_SECRET_KEY, or a file made once under instance/."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask, current_app

from bonus_service.settings import Settings

log = logging.getLogger(__name__)


def _instance_secret(instance_path: str) -> bytes:
    path = Path(instance_path) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a name of its own, then linked into place: workers starting
        # together keep whichever linked first, and none reads a file still being written
        # (created in place, a second worker could read it empty and hash codes with no key).
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip().encode()


def init_app(app: Flask, config: Settings) -> None:
    if not config.secret_key and config.database_url.startswith("postgresql"):
        # a shared database usually means several machines; each would make its own key,
        # and a code texted by one would not be accepted by another
        log.warning("BONUS_SECRET_KEY is not set: using %s, made on this machine; every "
                    "machine serving this database needs the same BONUS_SECRET_KEY",
                    Path(app.instance_path) / "secret.key")  # fmt: skip
    secret = (
        config.secret_key.encode() if config.secret_key else _instance_secret(app.instance_path)
    )
    app.extensions["bonus_secret"] = secret
    app.secret_key = secret


def code_secret() -> bytes:
    return current_app.extensions["bonus_secret"]
