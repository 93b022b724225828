"""The SMS sender the app uses, chosen by BONUS_SMS_BACKEND."""

from __future__ import annotations

from flask import Flask, current_app

import sms
from bonus_service.settings import Settings, SettingsError


def init_app(app: Flask, config: Settings) -> None:
    try:
        app.extensions["bonus_sms"] = sms.make_sender(
            config.sms_backend,
            account_sid=config.twilio_account_sid,
            auth_token=config.twilio_auth_token,
            from_number=config.twilio_from_number,
            api_base=config.twilio_api_base,
            timeout=config.twilio_timeout,
        )
    except ValueError as error:
        raise SettingsError(str(error)) from None


def sender() -> sms.SmsSender:
    return current_app.extensions["bonus_sms"]
