"""Sends SMS through Twilio's Messages API with the official twilio client."""

import ipaddress
import json
import logging
from urllib.parse import urlsplit

import requests
import urllib3
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from sms.errors import SmsError, SmsUnavailable
from sms.phones import masked
from sms.twilio_errors import classify

DEFAULT_API_BASE = "https://api.twilio.com"

logger = logging.getLogger("sms")


class TwilioSender:
    """An SmsSender on the real twilio client; `api_base` points it at another server (tests)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        *,
        api_base: str | None = None,
        timeout: float = 10.0,
    ):
        if not timeout > 0:
            raise ValueError("the Twilio timeout must be a positive number of seconds")
        self.account_sid = account_sid
        self.from_number = from_number
        self.api_base = _checked_base(api_base or DEFAULT_API_BASE)
        self.timeout = timeout
        self._client = _client(account_sid, auth_token, self.api_base, timeout)

    def __repr__(self) -> str:
        return f"TwilioSender({self.account_sid!r}, from={self.from_number!r}, {self.api_base})"

    def send(self, to: str, body: str) -> str:
        """Hand the message to Twilio; return its SM... sid. A failure is logged (a wrong
        token or an outage must be diagnosable from the log) and raised as an SmsError."""
        try:
            return self._send(to, body)
        except SmsError as error:
            cause = error.__cause__
            code = getattr(cause, "code", None)  # Twilio's error code, e.g. 20003 (auth)
            logger.warning("SMS to %s not sent: %s%s", masked(to), error,
                           f" (Twilio error {code})" if code else "")  # fmt: skip
            raise

    def _send(self, to: str, body: str) -> str:
        try:
            message = self._client.messages.create(to=to, from_=self.from_number, body=body)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise classify(exc) from exc
        except requests.ConnectTimeout as exc:  # never reached Twilio: not sent
            raise SmsUnavailable(f"Twilio did not connect within {self.timeout} s") from exc
        except requests.Timeout as exc:  # asked, and the answer did not come: maybe sent
            raise SmsUnavailable(f"Twilio did not answer within {self.timeout} s",
                                 maybe_sent=True) from exc  # fmt: skip
        except requests.RequestException as exc:
            reason = f"no answer from Twilio at {self.api_base}: {type(exc).__name__}"
            raise SmsUnavailable(reason, maybe_sent=_after_sending(exc)) from exc
        except (TwilioException, json.JSONDecodeError) as exc:
            raise SmsUnavailable(f"Twilio gave an unreadable answer: {exc!r}",
                                 maybe_sent=True) from exc  # fmt: skip
        if not message.sid:
            raise SmsUnavailable("Twilio accepted the message but returned no sid",
                                 maybe_sent=True)  # fmt: skip
        logger.info("SMS to %s accepted by Twilio as %s", masked(to), message.sid)
        return message.sid


def _after_sending(exc: requests.RequestException) -> bool:
    """Did the failure come after the request was written? A connection that was refused,
    timed out or failed its TLS handshake carried nothing; one dropped while waiting for the
    answer (Twilio's side closing it, a broken answer) may have carried the message."""
    if isinstance(exc, requests.exceptions.SSLError | requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        cause = exc.args[0] if exc.args else None
        unreached = (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)
        return not isinstance(getattr(cause, "reason", cause), unreached)
    return isinstance(exc, requests.exceptions.ChunkedEncodingError
                      | requests.exceptions.ContentDecodingError)  # fmt: skip


def _client(account_sid: str, auth_token: str, api_base: str, timeout: float) -> Client:
    """A twilio Client that depends on its arguments only, never on TWILIO_* variables."""
    # No retries (the client's default): a retried POST may text the guest twice; the caller
    # decides whether to try again.
    http = TwilioHttpClient(timeout=timeout)
    if _is_loopback(api_base):
        # A local fake is never behind a proxy; HTTP(S)_PROXY in a CI box must not reroute it.
        http.session.trust_env = False
    client = Client(account_sid, auth_token, http_client=http)
    # The client reads TWILIO_EDGE / TWILIO_REGION from os.environ and would rewrite the host;
    # the host comes from api_base alone (a regional host goes in TWILIO_API_BASE).
    client.edge = None
    client.region = None
    client.api.base_url = api_base
    return client


def _checked_base(api_base: str) -> str:
    """The base URL without a trailing slash, or ValueError when it is not an http(s) URL."""
    parts = urlsplit(api_base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"TWILIO_API_BASE must be an http(s) URL, not {api_base!r}")
    if parts.scheme == "http" and not _is_loopback(api_base):
        # the account's auth token goes in every request's Authorization header
        raise ValueError(f"TWILIO_API_BASE must be https unless it is this machine: {api_base!r}")
    return api_base.rstrip("/")


def _is_loopback(api_base: str) -> bool:
    host = urlsplit(api_base).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
