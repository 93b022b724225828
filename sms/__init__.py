"""Phones, login codes and SMS: what the service needs to text a guest, with no web or database."""

from sms import texts
from sms.codes import code_for, code_matches, hash_code, hash_token, new_code, new_token
from sms.errors import SmsError, SmsRejected, SmsUnavailable
from sms.phones import PhoneError, masked, normalise_any_phone, normalise_phone
from sms.senders import ConsoleSender, SmsSender, make_sender
from sms.twilio_sender import TwilioSender

__all__ = [
    "ConsoleSender",
    "PhoneError",
    "SmsError",
    "SmsRejected",
    "SmsSender",
    "SmsUnavailable",
    "TwilioSender",
    "code_for",
    "code_matches",
    "hash_code",
    "hash_token",
    "make_sender",
    "masked",
    "new_code",
    "new_token",
    "normalise_any_phone",
    "normalise_phone",
    "texts",
]
