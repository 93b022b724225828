"""Service settings read from the environment; a bad value stops start-up naming the variable."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers


class SettingsError(ValueError):
    """A configuration value that the service refuses to start with."""


def _int(name: str, raw: str, *, minimum: int = 0, maximum: int = 1_000_000) -> int:
    """A whole number in range: past any sane value the date and time sums overflow (an
    attempts count of 10**20 made every login code a 500)."""
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    if value > maximum:
        raise SettingsError(f"{name} must be at most {maximum}, got {value}")
    return value


MIN_SECRET_LENGTH = 16


def _secret(name: str, raw: str) -> str:
    if len(raw) < MIN_SECRET_LENGTH:
        raise SettingsError(f"{name} must be at least {MIN_SECRET_LENGTH} characters "
                            "(e.g. `python3 -c 'import secrets; print(secrets.token_hex(32))'`)")
    return raw


def _choice(name: str, raw: str, options: tuple[str, ...]) -> str:
    if raw not in options:
        raise SettingsError(f"{name} must be one of {', '.join(options)}, got {raw!r}")
    return raw


def _timezone(name: str, raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{name} is not a known time zone: {raw!r}") from None
    return raw


def _database_url(name: str, raw: str) -> str:
    if not raw.startswith(("sqlite://", "postgresql+psycopg://", "postgresql://")):
        raise SettingsError(f"{name} must be an sqlite:// or postgresql+psycopg:// URL")
    return raw.replace("postgresql://", "postgresql+psycopg://", 1)


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _country_codes(name: str, raw: str) -> frozenset[int]:
    # never empty: an empty part is refused by _int
    codes = frozenset(_int(name, part.strip().lstrip("+"), minimum=1) for part in raw.split(","))
    for code in sorted(codes):
        if phonenumbers.region_code_for_country_code(code) == phonenumbers.UNKNOWN_REGION:
            raise SettingsError(f"{name}: +{code} is no country's calling code")
    return codes


# Twilio's From: a phone number in E.164, or an alphanumeric sender ID (1–11 letters, digits
# and spaces, at least one letter) where the country allows one
_SENDER_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
_SHORT_CODE = re.compile(r"[0-9]{3,8}")  # a national short code, where Twilio has one


def _sender(name: str, raw: str) -> str:
    if _SENDER_ID.fullmatch(raw) or _SHORT_CODE.fullmatch(raw):
        return raw
    try:
        number = phonenumbers.parse(raw)
    except phonenumbers.NumberParseException:
        number = None
    if raw.startswith("+") and number is not None and phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise SettingsError(f"{name} must be a phone number in E.164 (+79001234567), a short "
                        f"code (12345) or an alphanumeric sender ID (VilkiNet), got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """Every knob of the service; the defaults are the embedded development set-up."""

    database_url: str = ""
    sms_backend: str = "console"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_api_base: str | None = None
    twilio_timeout: int = 10
    timezone: str = "Europe/Moscow"
    secret_key: str = ""
    sms_per_address_hour: int = 20
    # an IPv4 /24 or IPv6 /48 holds many hosts (a carrier's NAT, a provider's customer): 5×
    # one address, so 25 addresses of one /48 no longer get 25 × 20 codes (docs/configuration.md)
    sms_per_network_hour: int = 100
    # every SMS the service sends, codes and burn warnings: the cost of SMS pumping an hour
    sms_per_hour: int = 1000
    sms_per_phone_hour: int = 5
    # each code takes code_attempts guesses: per hour alone, 5 codes × 5 tries all day long
    # were 600 guesses a day at one phone's six digits (a security audit)
    sms_per_phone_day: int = 10
    console_failures_per_address: int = 20
    sms_resend_seconds: int = 60
    code_ttl_seconds: int = 300
    code_attempts: int = 5
    token_ttl_days: int = 30
    proxy_hops: int = 0
    allowed_country_codes: frozenset[int] = field(default_factory=lambda: frozenset({7}))
    max_body_bytes: int = 64 * 1024
    hold_ttl_hours: int = 24
    burn_warning_days: int = 7
    idempotency_ttl_hours: int = 48
    sms_sends_keep_days: int = 30
    # four-eyes control of manual credits, in whole bonuses (docs/operations.md)
    adjustment_review_over: int = 1000
    adjustment_daily_limit: int = 5000
    scheduler_enabled: bool = True
    cookie_secure: bool = True
    rules_dir: str | None = None
    metrics_token: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def code_minutes(self) -> int:
        """A code's life as the texts say it, in whole minutes: never «действует 0 минут»."""
        return max(1, self.code_ttl_seconds // 60)

    def with_overrides(self, overrides: Mapping[str, object]) -> Settings:
        """A copy with some fields replaced (tests, the CLI)."""
        return replace(self, **overrides)


# variable → (field, parser); parsers take (variable name, raw text)
_ENVIRONMENT = {
    "BONUS_DATABASE_URL": ("database_url", _database_url),
    "BONUS_SMS_BACKEND": ("sms_backend", lambda n, r: _choice(n, r, ("console", "twilio"))),
    "TWILIO_ACCOUNT_SID": ("twilio_account_sid", lambda n, r: r),
    "TWILIO_AUTH_TOKEN": ("twilio_auth_token", lambda n, r: r),
    "TWILIO_FROM_NUMBER": ("twilio_from_number", _sender),
    "TWILIO_API_BASE": ("twilio_api_base", lambda n, r: r.rstrip("/")),
    "TWILIO_TIMEOUT_SECONDS": (
        "twilio_timeout", lambda n, r: _int(n, r, minimum=1, maximum=120)
    ),
    "BONUS_TIMEZONE": ("timezone", _timezone),
    "BONUS_SECRET_KEY": ("secret_key", _secret),
    "BONUS_SMS_PER_ADDRESS_HOUR": ("sms_per_address_hour", lambda n, r: _int(n, r, minimum=1)),
    "BONUS_SMS_PER_NETWORK_HOUR": ("sms_per_network_hour", lambda n, r: _int(n, r, minimum=1)),
    "BONUS_SMS_PER_HOUR": ("sms_per_hour", lambda n, r: _int(n, r, minimum=1)),
    "BONUS_SMS_PER_PHONE_HOUR": ("sms_per_phone_hour", lambda n, r: _int(n, r, minimum=1)),
    "BONUS_SMS_PER_PHONE_DAY": ("sms_per_phone_day", lambda n, r: _int(n, r, minimum=1)),
    "BONUS_CONSOLE_FAILURES_PER_ADDRESS": (
        "console_failures_per_address",
        lambda n, r: _int(n, r, minimum=1),
    ),
    "BONUS_SMS_RESEND_SECONDS": ("sms_resend_seconds", lambda n, r: _int(n, r, maximum=3600)),
    "BONUS_CODE_TTL_SECONDS": (
        "code_ttl_seconds", lambda n, r: _int(n, r, minimum=30, maximum=24 * 3600)
    ),
    "BONUS_CODE_ATTEMPTS": ("code_attempts", lambda n, r: _int(n, r, minimum=1, maximum=100)),
    "BONUS_TOKEN_TTL_DAYS": ("token_ttl_days", lambda n, r: _int(n, r, minimum=1, maximum=3650)),
    "BONUS_PROXY_HOPS": ("proxy_hops", lambda n, r: _int(n, r, maximum=10)),
    "BONUS_ALLOWED_COUNTRY_CODES": ("allowed_country_codes", _country_codes),
    "BONUS_MAX_BODY_BYTES": (
        "max_body_bytes", lambda n, r: _int(n, r, minimum=1024, maximum=100 * 2**20)
    ),
    "BONUS_HOLD_TTL_HOURS": ("hold_ttl_hours", lambda n, r: _int(n, r, minimum=1, maximum=720)),
    "BONUS_BURN_WARNING_DAYS": (
        "burn_warning_days", lambda n, r: _int(n, r, minimum=1, maximum=365)
    ),
    "BONUS_IDEMPOTENCY_TTL_HOURS": (
        "idempotency_ttl_hours", lambda n, r: _int(n, r, minimum=24, maximum=24 * 365)
    ),
    "BONUS_SMS_SENDS_KEEP_DAYS": (
        "sms_sends_keep_days", lambda n, r: _int(n, r, minimum=1, maximum=3650)
    ),
    "BONUS_ADJUSTMENT_REVIEW_OVER": (
        "adjustment_review_over", lambda n, r: _int(n, r, maximum=1_000_000)
    ),
    "BONUS_ADJUSTMENT_DAILY_LIMIT": (
        "adjustment_daily_limit", lambda n, r: _int(n, r, maximum=1_000_000)
    ),
    "BONUS_SCHEDULER": ("scheduler_enabled", _bool),
    "BONUS_COOKIE_SECURE": ("cookie_secure", _bool),
    "BONUS_RULES_DIR": ("rules_dir", lambda n, r: r),
    "BONUS_METRICS_TOKEN": ("metrics_token", _secret),
}


def default_database_url(instance_path: str) -> str:
    """The embedded default: an SQLite file under the app's instance folder."""
    return f"sqlite:///{Path(instance_path) / 'bonus.db'}"


def from_environment(environ: Mapping[str, str] | None = None) -> Settings:
    """Parse every known variable that is set; unknown BONUS_* variables are refused too."""
    environ = os.environ if environ is None else environ
    known = {f.name for f in fields(Settings)}
    values: dict[str, object] = {}
    for variable, (name, parse) in _ENVIRONMENT.items():
        raw = environ.get(variable)
        if raw is not None and not raw.strip() and variable.startswith("BONUS_"):
            # a unit file whose secret was not rendered (BONUS_DATABASE_URL=) quietly ran on
            # an SQLite file under instance/, serving every guest as unknown
            raise SettingsError(f"{variable} is set but empty: give it a value, or unset it "
                                "for the default (docs/configuration.md)")
        if raw is not None and raw.strip():
            assert name in known
            values[name] = parse(variable, raw.strip())
    unknown = sorted(
        v
        for v in environ
        if v.startswith("BONUS_") and not v.startswith("BONUS_TEST_") and v not in _ENVIRONMENT
    )
    if unknown:
        raise SettingsError(f"unknown setting {unknown[0]}: see docs/configuration.md")
    return Settings(**values)
