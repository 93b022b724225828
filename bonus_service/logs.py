"""Logging set-up: one line per event, the SMS console sender's lines included."""

from __future__ import annotations

import logging

from flask import Flask


def init_app(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
