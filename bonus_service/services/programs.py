"""Program versions as data: drafts that change, published versions that never do.

`rules/` validates and evaluates a program given as data; this module stores it. A draft is
checked whole on every write (an invalid one is never stored); publishing sets its
`effective_from`, checks it again against the versions already in the book, and freezes it.
Every draft, change and publication is audited with its author.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import rules
from bonus_service.errors import Conflict, Invalid, NotFound
from bonus_service.models import ProgramVersion
from bonus_service.services import audit

VERSION_LENGTH = 80
SEEDED_BY = "bonus init-db"


class ProgramRefused(Invalid):
    """A program (or its publication) that must not be stored; `errors` maps field to reason,
    the field in the program's terms (`program.accrual.1.percent`)."""

    def __init__(self, errors: Mapping[str, str]):
        errors = dict(errors)
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors.items()),
                         errors=errors)  # fmt: skip


class VersionConflict(Conflict):
    """The version cannot be stored or published as asked; one of the three kinds below."""


class VersionExists(VersionConflict):
    """A new draft names a version id already taken (stored or shipped)."""


class VersionPublished(VersionConflict):
    """The version is published: it never changes."""


class InstantTaken(VersionConflict):
    """Another version takes effect at the very instant asked for."""


class UnknownVersion(NotFound):
    """No program version with this id."""

    def __init__(self, version: str):
        super().__init__("No program version with this id.")
        self.version = version


def field(path: str) -> str:
    """A rules.ProgramError path (`accrual[1].percent`) as a request field
    (`program.accrual.1.percent`)."""
    dotted = re.sub(r"\[(\d+)\]", r".\1", path)
    return f"program.{dotted}" if dotted else "program"


def check(data: object) -> rules.Program:
    """The program the data describes, stored exactly as it will be read back; ProgramRefused."""
    if not isinstance(data, Mapping):
        raise ProgramRefused({"program": "must be an object: the program as GET /v1/rules "
                              "returns it under rules"})  # fmt: skip
    odd = _not_json(data, "")
    if odd is not None:
        raise ProgramRefused({field(odd): "must be a plain number (no exponent, NaN or "
                              "Infinity), a string, true, false, null, a list or an object"})
    try:
        program = rules.load_program(decode(encode(data)))
    except rules.ProgramError as error:
        raise ProgramRefused({field(error.path): error.reason}) from None
    if len(program.version) > VERSION_LENGTH:
        raise ProgramRefused({"program.version": f"at most {VERSION_LENGTH} characters"})
    return program


def encode(data: Mapping) -> str:
    """The program's JSON text; a Decimal is written as the API writes it (a string)."""
    return json.dumps(data, ensure_ascii=False, default=_plain)


def decode(text: str) -> dict:
    return json.loads(text, parse_float=Decimal)


def _not_json(value: object, path: str) -> str | None:
    """The path of the first value the program's JSON cannot hold as written, or None."""
    if isinstance(value, Mapping):
        found = (_not_json(v, f"{path}.{k}" if path else str(k)) for k, v in value.items())
    elif isinstance(value, list):
        found = (_not_json(v, f"{path}[{i}]") for i, v in enumerate(value))
    else:
        plain = value is None or isinstance(value, str | int | bool | Decimal)
        return None if plain else path
    return next((p for p in found if p is not None), None)


def _plain(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def create_draft(session: Session, data: object, book: rules.ProgramBook, actor: str,
                 now: datetime) -> ProgramVersion:  # fmt: skip
    """Store a new draft; VersionConflict if its version id is taken (stored or in the book)."""
    program = check(data)
    if session.get(ProgramVersion, program.version) is not None or program.version in _ids(book):
        raise VersionExists(f"version {program.version!r} exists already: change the draft, "
                              "or give the new one a version of its own")  # fmt: skip
    row = ProgramVersion(version=program.version, data=encode(program.data), status="draft",
                         effective_from=program.effective_from, created_by=actor,
                         created_at=now, updated_by=actor, updated_at=now)  # fmt: skip
    session.add(row)
    audit.record(session, actor, "program.draft", program.version, now)
    session.flush()
    return row


def change_draft(session: Session, version: str, data: object, actor: str,
                 now: datetime) -> ProgramVersion:  # fmt: skip
    """Replace a draft's program; VersionConflict once it is published."""
    row = _draft(session, version)
    program = check(data)
    if program.version != version:
        raise ProgramRefused({"program.version": f"must stay {version!r}: a draft keeps its "
                              "version id (create a new draft for another)"})  # fmt: skip
    before = decode(row.data)
    row.data, row.effective_from = encode(program.data), program.effective_from
    row.updated_by, row.updated_at = actor, now
    audit.record(session, actor, "program.change", version, now,
                 changed=sorted(k for k in {*before, *program.data}
                                if before.get(k) != decode(row.data).get(k)))  # fmt: skip
    session.flush()
    return row


def publish(session: Session, version: str, effective_from: datetime, book: rules.ProgramBook,
            actor: str, now: datetime) -> ProgramVersion:  # fmt: skip
    """Freeze a draft to take effect at `effective_from` (not in the past). The program's own
    `effective_from` becomes the published one."""
    row = _draft(session, version, lock=True)
    if effective_from < now:
        raise ProgramRefused({"effective_from": f"is in the past (now is {now.isoformat()}): "
                              "a version takes effect from now on"})  # fmt: skip
    data = decode(row.data)
    zone = rules.load_program(data).timezone
    data["effective_from"] = effective_from.astimezone(zone).isoformat()
    program = check(data)
    taken = [p.version for p in book if p.effective_from == program.effective_from]
    taken += session.scalars(select(ProgramVersion.version).where(
        ProgramVersion.status == "published", ProgramVersion.effective_from == effective_from,
    ))  # fmt: skip
    if set(taken) - {version}:
        raise InstantTaken(f"version {sorted(set(taken) - {version})[0]!r} takes effect at "
                              "that very instant: each version needs its own")  # fmt: skip
    row.data, row.effective_from, row.status = encode(program.data), effective_from, "published"
    row.updated_by = row.published_by = actor
    row.updated_at = row.published_at = now
    audit.record(session, actor, "program.publish", version, now,
                 effective_from=effective_from.isoformat())  # fmt: skip
    try:
        session.flush()
    except IntegrityError:  # another publication took the instant meanwhile
        raise InstantTaken("another version was published to take effect at that very "
                              "instant: each version needs its own") from None
    return row


def _draft(session: Session, version: str, *, lock: bool = False) -> ProgramVersion:
    query = select(ProgramVersion).where(ProgramVersion.version == version)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise UnknownVersion(version)
    if row.status != "draft":
        raise VersionPublished(f"version {version!r} is published and never changes: draft a "
                              "new version instead")  # fmt: skip
    return row


def get(session: Session, version: str) -> ProgramVersion:
    row = session.get(ProgramVersion, version)
    if row is None:
        raise UnknownVersion(version)
    return row


def stored(session: Session) -> list[ProgramVersion]:
    """Every stored version, the latest effective date first."""
    query = select(ProgramVersion).order_by(ProgramVersion.effective_from.desc())
    return list(session.scalars(query))


def published_count(session: Session) -> int:
    """How many versions are published: published ones never change or go, so a new count is
    the one sign that the book must be read again."""
    query = select(func.count()).select_from(ProgramVersion)
    return session.scalar(query.where(ProgramVersion.status == "published"))


def published(session: Session) -> list[tuple[rules.Program, str]]:
    """The published versions as (program, source) pairs for a rules.ProgramBook."""
    query = select(ProgramVersion.version, ProgramVersion.data).where(
        ProgramVersion.status == "published"
    )
    found = []
    for version, data in session.execute(query):
        try:
            found.append((rules.load_program(decode(data)), f"database:{version}"))
        except rules.ProgramError as error:
            raise error.in_file(f"database:{version}") from None
    return found


def seed(session: Session, programs: Iterable[rules.Program], now: datetime) -> list[str]:
    """Store the shipped programs as published when the database holds no published version;
    the versions stored (none on a rerun)."""
    if published_count(session):
        return []
    seeded = []
    for program in programs:
        session.add(ProgramVersion(
            version=program.version, data=encode(program.data), status="published",
            effective_from=program.effective_from, created_by=SEEDED_BY, created_at=now,
            updated_by=SEEDED_BY, updated_at=now, published_by=SEEDED_BY, published_at=now,
        ))  # fmt: skip
        audit.record(session, SEEDED_BY, "program.seed", program.version, now)
        seeded.append(program.version)
    session.flush()
    return seeded


def _ids(book: rules.ProgramBook) -> set[str]:
    return set(book.versions)
