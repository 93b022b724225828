"""Tables. Money columns are integer kopecks; times are stored in UTC and read back aware."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on both back-ends (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ApiClient(Base):
    """An integration (`site`, `cafe-pos-12`): it owns its orders and Idempotency-Keys, and
    holds one or more keys (several while one is rotated). Revoked, every key of it is."""

    __tablename__ = "api_clients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


# A client's name: the actor of its ledger entries and audit lines, and what an operator writes
# in `?client=`; words (letters of any script, digits, `_`), `.` and `-`, single spaces between.
CLIENT_NAME = r"[\w.-]+(?: [\w.-]+)*"
CLIENT_NAME_LENGTH = 80

# A key is named by the first hex digits of its SHA-256 (what `sha256sum` prints of it), so
# an operator can tell which key a deployment holds without the service showing a key again.
KEY_ID_LENGTH = 8


class ApiKey(Base):
    """One key of a client, stored as its SHA-256."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def key_id(self) -> str:
        return self.key_hash[:KEY_ID_LENGTH]


class Guest(Base):
    __tablename__ = "guests"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("held >= 0 AND held <= balance", name="held_within_balance"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(16), unique=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registered_by: Mapped[str | None] = mapped_column(String(80))
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    held: Mapped[int] = mapped_column(BigInteger, default=0)
    warned_for: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @hybrid_property
    def last_activity(self) -> datetime:
        """What a balance is idle since: the last completed order, else the registration."""
        return self.last_order_at or self.registered_at

    @last_activity.inplace.expression
    @classmethod
    def _last_activity(cls):
        return func.coalesce(cls.last_order_at, cls.registered_at)


class LoginCode(Base):
    """The one live login code of a phone; a new send replaces it. It only logs in."""

    __tablename__ = "login_codes"
    phone: Mapped[str] = mapped_column(String(16), primary_key=True)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts_left: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # what the SMS said the code is for: "login" (POST /v1/auth/sms-code) or "registration"
    # (an operator's: its token is no consent to spend); None from the release before 0006,
    # taken as "login"
    purpose: Mapped[str | None] = mapped_column(String(20))


class SpendingCode(Base):
    """A code the guest reads out to pay with bonuses: consent to one order of the client that
    asked for it, up to `max_amount` kopecks, once. It never logs in. One live code per phone
    and client; a new request replaces it."""

    __tablename__ = "spending_codes"
    __table_args__ = (UniqueConstraint("phone", "client_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"))
    code_hash: Mapped[str | None] = mapped_column(String(64))
    max_amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts_left: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_id: Mapped[str | None] = mapped_column(String(64))  # the order it confirmed


class SmsSend(Base):
    """One SMS, counted against the hourly budget of every SMS; a code's also against the
    per-phone, per-address and per-network limits."""

    __tablename__ = "sms_sends"
    __table_args__ = (
        Index("ix_sms_sends_phone_sent_at", "phone", "sent_at"),
        Index("ix_sms_sends_address_sent_at", "address", "sent_at"),
        Index("ix_sms_sends_network_sent_at", "network", "sent_at"),
        Index("ix_sms_sends_sent_at", "sent_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(16))
    # the client's address as the limits count it (an IPv6 /64), "operator" or "scheduler"
    address: Mapped[str] = mapped_column(String(64))
    # its IPv4 /24 or IPv6 /48; None for a send no client address asked for
    network: Mapped[str | None] = mapped_column(String(64))
    # "login", "registration", ... a code; "burn_warning" the scheduler's warning
    purpose: Mapped[str] = mapped_column(String(20))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SmsThrottle(Base):
    """A row per rate-limited subject, locked to serialise concurrent sends for it."""

    __tablename__ = "sms_throttles"
    subject: Mapped[str] = mapped_column(String(80), primary_key=True)
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GuestToken(Base):
    __tablename__ = "guest_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the purpose of the code that bought it: "registration" (an operator's) gives no consent
    code_purpose: Mapped[str | None] = mapped_column(String(20))


class AuditEntry(Base):
    """Who did what through an operator or admin key, and why."""

    __tablename__ = "audit_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(80), index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class IdempotencyRecord(Base):
    """The first answer to a client's Idempotency-Key, replayed byte for byte."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("client_id", "key", name="client_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Zone(Base):
    __tablename__ = "zones"
    __table_args__ = (CheckConstraint("min_order >= 0", name="min_order_not_negative"),)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    min_order: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Order(Base):
    """An order of one client: its id is the client's, unique per client only."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("redeemed >= 0 AND accrual >= 0 AND total >= 0", name="amounts"),
        Index("ix_orders_status_hold_expires_at", "status", "hold_expires_at"),
    )
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    guest_id: Mapped[int | None] = mapped_column(ForeignKey("guests.id"), index=True)
    phone: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(20))
    payload: Mapped[dict] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(BigInteger)
    redeemed: Mapped[int] = mapped_column(BigInteger)
    accrual: Mapped[int] = mapped_column(BigInteger)
    rules_version: Mapped[str] = mapped_column(String(80))
    explanation: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    placed_by: Mapped[str] = mapped_column(String(80))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LedgerEntry(Base):
    """One bonus movement. Append-only: a correction is a new entry."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_guest_id_id", "guest_id", "id"),
        Index("ix_ledger_entries_order", "order_client_id", "order_id"),
        ForeignKeyConstraint(["order_client_id", "order_id"], ["orders.client_id", "orders.id"],
                             name="fk_ledger_entries_order_orders"),
        # a composite foreign key with one column NULL is checked by no database
        CheckConstraint("(order_id IS NULL) = (order_client_id IS NULL)", name="order_whole"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id"))
    kind: Mapped[str] = mapped_column(String(20))
    # amount moves the balance, held_delta the bonuses held by open orders: a hold is
    # (0, +x), a spend (-x, -x), a release (0, -x); balance = Σ amount, held = Σ held_delta.
    amount: Mapped[int] = mapped_column(BigInteger)
    held_delta: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    # the order it moves bonuses for: (its client, its id)
    order_client_id: Mapped[int | None] = mapped_column(Integer)
    order_id: Mapped[str | None] = mapped_column(String(64))
    rules_version: Mapped[str | None] = mapped_column(String(80))
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- the scheduler's lease on a periodic job (owned by scheduler/) ------------------------------


class JobRun(Base):
    """One run of a periodic job (e.g. the expiry of one local date), leased to one instance.

    A row is claimed by inserting it, or by taking it over once its lease has lapsed (the
    holder died); `finished_at` closes it, so the same (name, run_key) never runs twice.
    """

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("name", "run_key", name="name_run_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    run_key: Mapped[str] = mapped_column(String(40))
    owner: Mapped[str] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    figures: Mapped[dict | None] = mapped_column(JSON)


# --- call-center operators and their console sessions (services/operators.py) ---------


class Operator(Base):
    """A call-center operator who logs in to /console.

    `failed_logins` and `locked_until` were the lock-out of release 0003/0004; failures are now
    counted in `login_throttles` and the two columns are no longer written (dropped one release
    later, as docs/operations.md says of columns a running release uses).
    """

    __tablename__ = "operators"
    __table_args__ = (
        CheckConstraint("failed_logins >= 0", name="failed_logins_not_negative"),
        CheckConstraint("role IN ('operator', 'supervisor', 'marketing')", name="role_known"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # what the person may do (services/operators.ROLES); accounts made before 0008 are operators
    role: Mapped[str] = mapped_column(String(20), default="operator", server_default="operator")


class LoginThrottle(Base):
    """Failed console logins, counted per typed name and per client address.

    A name is counted whether or not an operator has it, so the console's answers (attempts
    left, the lock) never tell which names exist. `key` is the SHA-256 of "name:<name>" or
    "address:<address>": typed text is never stored.
    """

    __tablename__ = "login_throttles"
    __table_args__ = (CheckConstraint("failures >= 0", name="failures_not_negative"),)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OperatorSession(Base):
    """A console login: the cookie holds the token, the row makes it revocable."""

    __tablename__ = "operator_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- adjustments under four-eyes review (services/adjustments.py) ---------------------


class Adjustment(Base):
    """One manual correction as a person asked for it: applied at once, or pending review.

    `status` is `applied`, `pending`, `rejected` or `lapsed`; a pending row past `lapses_at` is
    lapsed whether or not the hourly job has marked it yet. `requested_by`/`decided_by` are the
    people (operator account names), `requested_via`/`decided_via` the actor they came through
    (`operator:<name>` for the console, the API client's name for a key).
    """

    __tablename__ = "adjustments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('applied', 'pending', 'rejected', 'lapsed')", name="status_known"
        ),
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index("ix_adjustments_requested_by_requested_at", "requested_by", "requested_at"),
        Index("ix_adjustments_status_lapses_at", "status", "lapses_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guest_id: Mapped[int] = mapped_column(ForeignKey("guests.id"), index=True)
    phone: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)  # kopecks, signed
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    # why it waits for review: "review_over", "daily_limit" or both, space-separated
    held_because: Mapped[str | None] = mapped_column(String(40))
    requested_by: Mapped[str] = mapped_column(String(60))
    requested_via: Mapped[str] = mapped_column(String(80))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lapses_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(60))
    decided_via: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    entry_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ledger_entries.id")
    )


# --- replays of past orders under a draft, run in the background (services/replays.py)


class ReplayJob(Base):
    """One replay of past orders under a candidate program: its progress, then its result."""

    __tablename__ = "replay_jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    candidate_version: Mapped[str] = mapped_column(String(80))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))  # running, done, failed
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int | None] = mapped_column(BigInteger)
    result: Mapped[dict | None] = mapped_column(JSON)  # Simulation.as_data()
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The running thread's last sign of life (every BEAT_SECONDS): a replay whose process died
    # stops beating and reads as failed (services/replays.py).
    beat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProgramVersion(Base):
    """A program version stored as data: a draft that can change, or a published one that never
    does. `data` is the program's JSON text, numbers written exactly as the API renders them."""

    __tablename__ = "program_versions"
    version: Mapped[str] = mapped_column(String(80), primary_key=True)
    data: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # draft, published
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[str | None] = mapped_column(String(80))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published')", name="status"),
        Index("ix_program_versions_status_effective_from", "status", "effective_from"),
        # two publications racing for one instant: the second is refused here
        Index("uq_program_versions_published_start", "effective_from", unique=True,
              sqlite_where=text("status = 'published'"),
              postgresql_where=text("status = 'published'")),
    )
