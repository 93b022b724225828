"""The bonus program book loaded once at start-up from rules/ (or BONUS_RULES_DIR)."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app

import rules
from bonus_service.clock import utcnow
from bonus_service.settings import Settings, SettingsError


def init_app(app: Flask, config: Settings) -> None:
    try:
        book = rules.load_book(config.rules_dir)
        # a book of future versions only would answer 500 to every quote until the first
        # begins: refused at start-up (once one is in force, one always is)
        book.in_force(utcnow())
    except rules.ProgramError as error:
        raise SettingsError(f"BONUS_RULES_DIR: {error}") from None
    app.extensions["bonus_rules"] = book


def book() -> rules.ProgramBook:
    return current_app.extensions["bonus_rules"]


def in_force(now: datetime) -> rules.Program:
    return book().in_force(now)
