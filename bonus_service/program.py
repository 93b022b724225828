"""The bonus program book loaded once at start-up from rules/ (or BONUS_RULES_DIR)."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app

import rules
from bonus_service.settings import Settings, SettingsError


def init_app(app: Flask, config: Settings) -> None:
    try:
        app.extensions["bonus_rules"] = rules.load_book(config.rules_dir)
    except rules.ProgramError as error:
        raise SettingsError(f"BONUS_RULES_DIR: {error}") from None


def book() -> rules.ProgramBook:
    return current_app.extensions["bonus_rules"]


def in_force(now: datetime) -> rules.Program:
    return book().in_force(now)
