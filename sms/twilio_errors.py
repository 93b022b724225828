"""Twilio's error answers sorted into the guest's problem (422) and ours (503)."""

from twilio.base.exceptions import TwilioRestException, TwilioServiceException

from sms.errors import SmsError, SmsRejected, SmsUnavailable
from sms.phones import masked_within

# Errors about the recipient, which the guest can fix by giving another number (422). Anything
# else Twilio refuses (bad From number, geo setup, credentials, outages) is ours to fix (503):
# telling a guest their phone is wrong when our account is broken would send them away.
RECIPIENT_CODES = frozenset({
    21211,  # invalid 'To' number
    21214,  # 'To' number cannot be reached
    21217,  # number does not appear to be valid
    21265,  # 'To' number cannot be a short code
    21407,  # number type does not support SMS
    21408,  # sending to the number's region is not enabled
    21421,  # phone number is invalid
    21608,  # trial account: 'To' number is not verified
    21610,  # recipient replied STOP (unsubscribed)
    21612,  # 'To' number is not reachable via SMS
    21614,  # 'To' number is not a mobile number
    21635,  # 'To' number is a landline
})


def classify(exc: TwilioRestException | TwilioServiceException) -> SmsError:
    """Sort a Twilio error answer into the guest's problem or ours."""
    code = exc.code if isinstance(exc.code, int) and exc.code >= 10000 else None
    text = getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", "")
    text = masked_within(str(text))  # Twilio quotes the number it refused; logs must not
    if code in RECIPIENT_CODES:
        return SmsRejected(f"Twilio refused the recipient (error {code}): {text}", code)
    if exc.status in (401, 403) or code == 20003:
        # Bad credentials are a deployment fault, not something the guest did: 503, and the
        # operator must fix TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN.
        reason = f"Twilio refused our credentials (error {code}); check TWILIO_ACCOUNT_SID"
        return SmsUnavailable(reason + " and TWILIO_AUTH_TOKEN", code)
    return SmsUnavailable(f"Twilio failed with HTTP {exc.status} (error {code}): {text}", code)
