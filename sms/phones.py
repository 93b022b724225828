"""Turn a phone number as a guest or operator types it into the E.164 form the service stores."""

import functools
import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

MAX_INPUT_LENGTH = 32

# Digits and the usual punctuation only: phonenumbers would otherwise read letters as a vanity
# number ("8-912-FOO-..." becomes digits) and "ext. 12" as an extension nobody can text.
_TYPED_PHONE = re.compile(r"\+?[\d\s().\-]+")

# A login code goes by SMS, so only numbers that can receive one are accepted. Where the metadata
# cannot tell a landline from a mobile (FIXED_LINE_OR_MOBILE, common abroad) the guest gets the
# benefit of the doubt; landlines, 8-800 toll-free and premium numbers are refused.
_TEXTABLE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


class PhoneError(ValueError):
    """A phone number the service will not accept; `reason` says why in one English sentence."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def normalise_phone(
    raw: str, *, region: str = "RU", allowed_country_codes: frozenset[int] = frozenset({7})
) -> str:
    """Return `raw` as E.164 (`8 912 345-67-89` → `+79123456789`) or raise PhoneError."""
    return _normalised(_typed_text(raw), region, allowed_country_codes)


# Checkout sends the same few thousand phones all day and parsing one costs ~100 µs; a refused
# number raises, and lru_cache keeps no result for a call that raised.
@functools.lru_cache(maxsize=8192)
def _normalised(text: str, region: str, allowed_country_codes: frozenset[int]) -> str:
    number = _valid(text, region)
    if number.country_code not in allowed_country_codes:
        raise PhoneError(f"country code +{number.country_code} is not served")
    if phonenumbers.number_type(number) not in _TEXTABLE_TYPES:
        raise PhoneError("the phone number is not a mobile number and cannot receive SMS")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _valid(text: str, region: str) -> phonenumbers.PhoneNumber:
    """The number `text` writes, if it is a valid one anywhere."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise PhoneError("the phone number could not be read") from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("the phone number is not a valid number")
    return number


def normalise_any_phone(raw: str, *, region: str = "RU") -> str:
    """E.164 for any valid number: the phone an order is for. It need not be one that may
    register (a foreign, landline or toll-free number): such an order is served with zero
    bonuses, as for any unregistered phone, not refused. A number that is not valid anywhere
    is still refused: mostly a mistyped digit, which the cashier should hear about."""
    return _any_normalised(_typed_text(raw), region)


@functools.lru_cache(maxsize=8192)
def _any_normalised(text: str, region: str) -> str:
    return phonenumbers.format_number(_valid(text, region), phonenumbers.PhoneNumberFormat.E164)


def _typed_text(raw: object) -> str:
    """The input stripped, after the checks that need no parsing."""
    if not isinstance(raw, str):
        raise PhoneError("the phone number must be a string")
    if len(raw) > MAX_INPUT_LENGTH:
        raise PhoneError(f"the phone number is longer than {MAX_INPUT_LENGTH} characters")
    text = raw.strip()
    if not text:
        raise PhoneError("the phone number is empty")
    if not _TYPED_PHONE.fullmatch(text):
        raise PhoneError("the phone number may hold only digits, spaces, brackets, dashes and +")
    return text


_NUMBER_IN_TEXT = re.compile(r"\+?\d[\d ()-]{5,}\d")


def masked(phone: str) -> str:
    """Enough of a number, as written, to follow it through a log without publishing it."""
    return phone[:5] + "***" + phone[-2:] if len(phone) > 8 else "***"


def masked_within(text: str) -> str:
    """Someone else's text (Twilio's error message) with every phone number in it masked
    (a run of nine digits or more; a date or an error code stays readable)."""

    def mask(found: re.Match) -> str:
        number = found.group()
        return masked(number) if sum(c.isdigit() for c in number) >= 9 else number

    return _NUMBER_IN_TEXT.sub(mask, text)
