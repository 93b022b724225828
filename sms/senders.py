"""The SMS sender interface, the console sender for development, and the backend factory."""

import logging
import secrets
from typing import Protocol, runtime_checkable

from sms.errors import SmsError, SmsRejected, SmsUnavailable
from sms.twilio_sender import TwilioSender

__all__ = [
    "ConsoleSender",
    "SmsError",
    "SmsRejected",
    "SmsSender",
    "SmsUnavailable",
    "TwilioSender",
    "make_sender",
]

BACKENDS = ("console", "twilio")


@runtime_checkable
class SmsSender(Protocol):
    """Anything that can hand a text to a phone."""

    def send(self, to: str, body: str) -> str:
        """Send `body` to the E.164 number `to`; return the provider's message id.

        Raises SmsRejected for a recipient the provider refuses, SmsUnavailable otherwise.
        """
        ...


class ConsoleSender:
    """Writes each SMS to the log instead of sending it: the development default."""

    def __init__(self, logger: logging.Logger | None = None):
        self.logger = logger or logging.getLogger("sms")

    def send(self, to: str, body: str) -> str:
        """Log the message at INFO and return a made-up message id."""
        self.logger.info("SMS to %s: %s", to, body)
        return "console-" + secrets.token_hex(8)


def make_sender(
    backend: str,
    *,
    account_sid: str | None = None,
    auth_token: str | None = None,
    from_number: str | None = None,
    api_base: str | None = None,
    timeout: float = 10.0,
) -> SmsSender:
    """The sender named by BONUS_SMS_BACKEND, failing loudly on a missing setting."""
    if backend == "console":
        return ConsoleSender()
    if backend != "twilio":
        raise ValueError(f"BONUS_SMS_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
    settings = {
        "TWILIO_ACCOUNT_SID": account_sid,
        "TWILIO_AUTH_TOKEN": auth_token,
        "TWILIO_FROM_NUMBER": from_number,
    }
    for name, value in settings.items():
        if not value:
            raise ValueError(f"{name} is required when BONUS_SMS_BACKEND=twilio")
    return TwilioSender(
        account_sid, auth_token, from_number, api_base=api_base or None, timeout=timeout
    )
