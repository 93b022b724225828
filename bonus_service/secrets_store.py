"""The HMAC secret for login codes: BONUS_SECRET_KEY, or a file made once under instance/."""

from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path

from flask import Flask, current_app

from bonus_service.settings import Settings

log = logging.getLogger(__name__)


def _instance_secret(instance_path: str) -> bytes:
    path = Path(instance_path) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _create(path)
    return _read_written(path)


def _create(path: Path) -> None:
    """Create the key file once: workers starting together keep whichever created it first
    (O_EXCL), and the others wait in `_read_written` until it is written (read at once, a
    second worker could find it empty and hash codes with no key)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32))


def _read_written(path: Path) -> bytes:
    """The key in `path`, once a worker creating it in place has written it."""
    for _ in range(200):
        key = path.read_text().strip()
        if key:
            return key.encode()
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty: delete it (a new key is made) or set BONUS_SECRET_KEY")


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
