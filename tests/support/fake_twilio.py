"""A fake Twilio Messages API on 127.0.0.1, spoken to over real HTTP by the real twilio client.

    with FakeTwilio() as fake:
        sender = TwilioSender(fake.account_sid, fake.auth_token, fake.from_number,
                              api_base=fake.base_url)
        sender.send("+79123456789", "Код: 123456")
        assert fake.last_code("+79123456789") == "123456"

Failures are scripted: `fail_next("server_error", count=2)` for the next requests,
`mode = "hang"` for every request until reset, `reject_number("+7...")` for one recipient.
Kinds are the keys of FAILURES plus "hang" (answer only after `hang_seconds`, longer than
any client timeout) and "drop" (close the connection without answering).
"""

import base64
import json
import re
import secrets
import threading
from collections import deque
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

API_VERSION = "2010-04-01"
MESSAGES_PATH = re.compile(rf"/{API_VERSION}/Accounts/(?P<sid>AC\w+)/Messages\.json")
CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")
E164 = re.compile(r"\+[1-9]\d{6,14}")

# kind → (HTTP status, Twilio error code, message; "{to}" is the recipient)
FAILURES = {
    "invalid_number": (400, 21211, "The 'To' number {to} is not a valid phone number."),
    "unverified": (400, 21608, "The number {to} is unverified. Trial accounts cannot send "
                   "messages to unverified numbers."),
    "unsubscribed": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "not_mobile": (400, 21614, "'To' number {to} is not a valid mobile number"),
    "auth": (401, 20003, "Authenticate"),
    "rate_limited": (429, 20429, "Too Many Requests"),
    "server_error": (500, 20500, "An internal server error has occurred"),
}
KINDS = frozenset(FAILURES) | {"hang", "drop"}

GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€")


class FakeTwilio:
    """One fake Twilio account served on an ephemeral port; a context manager."""

    def __init__(
        self,
        account_sid: str = "AC" + "fa4e" * 8,
        auth_token: str | None = None,
        from_number: str = "+15005550006",
        hang_seconds: float = 30.0,
    ):
        self.account_sid = account_sid
        self.auth_token = auth_token or secrets.token_hex(16)  # fresh per fake: never guessable
        self.from_number = from_number
        self.hang_seconds = hang_seconds
        self.mode: str | None = None
        self.attempts = 0
        self._messages: list[dict] = []
        self._queued: deque[str] = deque()
        self._rejected: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> "FakeTwilio":
        """Listen on 127.0.0.1 on a free port and serve in a daemon thread."""
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        # A short poll keeps stop() (which waits for the serving loop to notice) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-twilio", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; a hanging request is released first, so this returns promptly."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> "FakeTwilio":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Where to point TWILIO_API_BASE, e.g. http://127.0.0.1:54321."""
        if self._server is None:
            raise RuntimeError("FakeTwilio is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- scripting ----------------------------------------------------------------------------

    def fail_next(self, kind: str, count: int = 1) -> None:
        """Answer the next `count` requests with failure `kind`, then behave again."""
        _check_kind(kind)
        with self._lock:
            self._queued.extend([kind] * count)

    def reject_number(self, phone: str, kind: str = "invalid_number") -> None:
        """Fail every message to `phone` with `kind` (by default 21211 invalid number)."""
        _check_kind(kind)
        with self._lock:
            self._rejected[phone] = kind

    def reset(self) -> None:
        """Forget messages and scripted failures: a clean account for the next test."""
        with self._lock:
            self._messages.clear()
            self._queued.clear()
            self._rejected.clear()
            self.mode = None
            self.attempts = 0

    # -- what was sent ------------------------------------------------------------------------

    @property
    def messages(self) -> list[dict]:
        """A snapshot of the accepted messages, oldest first: {sid, to, from_, body, ...}."""
        with self._lock:
            return [dict(message) for message in self._messages]

    def messages_to(self, phone: str) -> list[dict]:
        """The accepted messages sent to `phone`, oldest first."""
        return [message for message in self.messages if message["to"] == phone]

    def last_code(self, phone: str) -> str:
        """The 6-digit code in the latest message to `phone` that holds one."""
        for message in reversed(self.messages_to(phone)):
            found = CODE.search(message["body"])
            if found:
                return found.group()
        raise LookupError(f"no SMS with a 6-digit code was sent to {phone}")

    # -- what the handler asks ----------------------------------------------------------------

    def _failure_for(self, to: str) -> str | None:
        """The scripted failure this request meets, consuming a fail_next() entry."""
        with self._lock:
            self.attempts += 1
            if self._queued:
                return self._queued.popleft()
            return self.mode or self._rejected.get(to)

    def _credentials_ok(self, header: str | None) -> bool:
        expected = f"{self.account_sid}:{self.auth_token}".encode()
        scheme, _, encoded = (header or "").partition(" ")
        try:
            given = base64.b64decode(encoded, validate=True)
        except ValueError:
            return False
        return scheme.lower() == "basic" and secrets.compare_digest(given, expected)

    def _record(self, to: str, from_: str, body: str) -> dict:
        """Store an accepted message and return Twilio's Message resource for it."""
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC))
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        with self._lock:
            self._messages.append(
                {"sid": sid, "to": to, "from_": from_, "body": body, "date_created": now}
            )
        return {
            "account_sid": self.account_sid, "api_version": API_VERSION, "body": body,
            "date_created": now, "date_sent": None, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": from_, "messaging_service_sid": None, "num_media": "0",
            "num_segments": str(segments(body)), "price": None, "price_unit": "USD",
            "sid": sid, "status": "queued", "to": to, "uri": uri + ".json",
            "subresource_uris": {"media": uri + "/Media.json"},
        }


class _Server(ThreadingHTTPServer):
    """The HTTP server; `fake` is the FakeTwilio whose state the handlers read and write."""

    daemon_threads = True  # a hanging handler must never keep the test process alive
    request_queue_size = 64  # a burst of concurrent sends must not wait for a SYN retry
    fake: FakeTwilio


class _Handler(BaseHTTPRequestHandler):
    """Serves the Messages resource of one FakeTwilio (self.server.fake)."""

    server_version = "FakeTwilio/1.0"

    def do_POST(self) -> None:
        fake: FakeTwilio = self.server.fake
        if not fake._credentials_ok(self.headers.get("Authorization")):
            self._answer_error(401, 20003, "Authenticate")
            return
        match = MESSAGES_PATH.fullmatch(self.path)
        if not match or match["sid"] != fake.account_sid:
            self._answer_error(404, 20404, f"The requested resource {self.path} was not found")
            return
        form = self._form()
        to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        failure = fake._failure_for(to)
        if failure == "drop":
            self.close_connection = True
            return
        if failure == "hang" and fake._stopping.wait(fake.hang_seconds):
            return  # the server is stopping: leave without an answer
        if failure in FAILURES:
            status, code, message = FAILURES[failure]
            self._answer_error(status, code, message.format(to=to))
        elif problem := _invalid(to, from_, body):
            self._answer_error(400, *problem)
        else:
            # A hang ends in success, as at Twilio: the client gave up, the SMS still went out.
            self._answer(201, fake._record(to, from_, body))

    def do_GET(self) -> None:
        self._answer_error(405, 20004, "Method not allowed")

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        fields = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        return {name: values[-1] for name, values in fields.items()}

    def _answer_error(self, status: int, code: int, message: str) -> None:
        more_info = f"https://www.twilio.com/docs/errors/{code}"
        self._answer(
            status, {"code": code, "message": message, "more_info": more_info, "status": status}
        )

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left; nothing to tell it

    def log_message(self, *args: object) -> None:
        pass  # keep pytest output clean


def _invalid(to: str, from_: str, body: str) -> tuple[int, str] | None:
    """The Twilio error for a malformed request, as (code, message), or None."""
    if not to:
        return 21604, "A 'To' phone number is required."
    if not from_:
        return 21603, "A 'From' phone number is required."
    if not body:
        return 21602, "Message body is required."
    if not E164.fullmatch(to):
        return 21211, f"The 'To' number {to} is not a valid phone number."
    return None


def segments(body: str) -> int:
    """How many SMS parts Twilio would bill for `body` (GSM-7 160/153, else UCS-2 70/67)."""
    if set(body) <= GSM_BASIC | GSM_EXTENDED:
        septets = len(body) + sum(char in GSM_EXTENDED for char in body)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown failure kind {kind!r}; known: {', '.join(sorted(KINDS))}")
