"""`flask --app wsgi bonus ...`: schema, clients and operators, serving, jobs, operations."""

from __future__ import annotations

import os
import re
import sys
from datetime import datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

import rules
from bonus_service import program
from bonus_service.app_db import get_db
from bonus_service.auth import KEY_CACHE_SECONDS, forget_cached_keys
from bonus_service.clock import utcnow
from bonus_service.credentials import SCOPES, add_key, create_client
from bonus_service.migrate import upgrade
from bonus_service.models import (
    CLIENT_NAME,
    CLIENT_NAME_LENGTH,
    KEY_ID_LENGTH,
    ApiClient,
    ApiKey,
    LedgerEntry,
)
from bonus_service.services import audit, operators, programs
from bonus_service.services.liability import liability
from bonus_service.services.reconcile import reconcile
from bonus_service.services.simulate import MissingVersion, simulate


class DatabaseFailed(click.ClickException):
    """The database could not be reached or refused the work (locked, a deadlock): one line
    and exit status 3, not a page of traceback (and not 1, which `reconcile` uses for books
    that differ: a nightly alert tells the two apart)."""

    exit_code = 3


class BonusGroup(AppGroup):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except OperationalError as error:  # connection refused, server gone, auth failed…
            cause = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
            raise DatabaseFailed(f"the database failed: {cause}") from None


bonus = BonusGroup("bonus", help="Bonus Engine operations.")


@bonus.command("init-db")
def init_db() -> None:
    """Bring the schema to the current version and store the shipped program versions when
    the database has none published (safe to rerun)."""
    found = upgrade(get_db())
    if found.ahead:
        click.echo(f"database at revision {found.revision}, newer than this release's "
                   f"{found.head} (a later release migrated it): left as it is: "
                   f"{_safe_url(get_db().url)}")  # fmt: skip
        return
    click.echo(f"database at revision {found.revision}: {_safe_url(get_db().url)}")
    with get_db().unit_of_work() as session:
        seeded = programs.seed(session, program.shelf().files, utcnow())
        session.commit()
    for version in seeded:
        click.echo(f"program version {version} stored as published (from the shipped files)")


def _safe_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}" if "@" in rest else url


def iso_moment(_ctx, _param, value: str | None):
    """An ISO date or date-time option (the command reads a naive one with `aware_moment`)."""
    if value is None:
        return None

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date or date-time") from None
    # the calendar arithmetic (12 months back, a night ahead) runs off datetime's ends near
    # year 1 and 9999; no run of the program is far from now
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise click.BadParameter(f"{value!r}: the year must be {YEARS[0]}..{YEARS[1]}")
    return moment


YEARS = (2000, 2999)
# Upper bounds of the numeric options: past them a number overflowed a C int or an SQL integer
# (a traceback); within them every value is one the machine can actually serve.
MAX_BATCH_SIZE = 1_000_000
MAX_LISTED = 100_000
MAX_WORKERS = 256


def _client_name(_ctx, _param, value: str) -> str:
    """A client's name is the actor of its every ledger entry and audit line, and what an
    operator names in `GET /v1/orders/{id}?client=`."""
    if len(value) > CLIENT_NAME_LENGTH:
        raise click.BadParameter(f"at most {CLIENT_NAME_LENGTH} characters, not {len(value)}")
    if not re.fullmatch(CLIENT_NAME, value):
        raise click.BadParameter(
            f"{value!r}: a name is letters, digits, '_', '.' and '-', with single spaces "
            "between words (e.g. cafe-pos-12)"
        )
    return value


def aware_moment(moment):
    """A naive moment from the command line is BONUS_TIMEZONE wall-clock time."""

    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=current_app.extensions["bonus_settings"].tz)


@bonus.command("create-client")
@click.argument("name", callback=_client_name)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="checkout, operator or admin; repeat for several.",
)
def create_client_command(name: str, scopes: tuple[str, ...]) -> None:
    """Create an API client and print its key once."""
    now = utcnow()
    with get_db().unit_of_work() as session:
        if session.scalar(select(ApiClient).where(ApiClient.name == name)):
            raise click.ClickException(f"a client named {name!r} already exists")
        key = create_client(session, name, list(scopes), now)
        audit.record(session, "cli", "client.create", name, now, scopes=" ".join(sorted(scopes)))
        session.commit()
    click.echo(key)


@bonus.command("list-clients")
def list_clients_command() -> None:
    """The API clients (name, scopes, created, revoked, when it last moved bonuses), each
    followed by its keys (key id, created, revoked)."""
    last_moved = (
        select(LedgerEntry.actor, func.max(LedgerEntry.created_at).label("at"))
        .group_by(LedgerEntry.actor)
        .subquery()
    )
    with get_db().unit_of_work(write=False) as session:
        rows = session.execute(
            select(ApiClient, last_moved.c.at)
            .outerjoin(last_moved, last_moved.c.actor == ApiClient.name)
            .order_by(ApiClient.name)
        ).all()
        keys = session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).all()
    for client, moved_at in rows:
        moved = f"{moved_at:%Y-%m-%d %H:%M}" if moved_at else "never"
        click.echo(f"{client.name}\t{client.scopes}\tcreated {client.created_at:%Y-%m-%d %H:%M}"
                   f"\t{_revoked(client)}\tlast moved bonuses {moved} (UTC)")
        for key in (k for k in keys if k.client_id == client.id):
            click.echo(f"  key {key.key_id}\tcreated {key.created_at:%Y-%m-%d %H:%M}"
                       f"\t{_revoked(key)}")


def _revoked(row: ApiClient | ApiKey) -> str:
    return f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"


@bonus.command("serve", context_settings={"ignore_unknown_options": True})
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, MAX_WORKERS))
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve(bind: str, workers: int, gunicorn_args: tuple[str, ...]) -> None:
    """Serve with gunicorn (threads in one worker keep the in-process scheduler single).

    The service writes its own JSON access line per request, so gunicorn's is left off.
    """
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        "8",
        *gunicorn_args,
        "wsgi:app",
    ]
    click.echo(f"serving on http://{bind} (docs at http://{bind}/docs)")
    os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter, fixed arguments


def init_app(app: Flask) -> None:
    app.cli.add_command(bonus)


@bonus.command("reconcile")
@click.option(
    "--limit",
    default=1000,
    show_default=True,
    type=click.IntRange(1, MAX_LISTED),
    help="Differences listed per check.",
)
def reconcile_command(limit: int) -> None:
    """Check every balance against its ledger and every order against its movements."""

    report = reconcile(get_db(), limit=limit)
    for line in report.lines():
        click.echo(line)
    if report.differences:
        raise SystemExit(1)


@bonus.command("liability")
@click.option("--months", default=12, show_default=True, type=click.IntRange(1, 120))
@click.option("--as-of", "as_of", callback=iso_moment, help="Report as of this ISO date-time.")
def liability_command(months: int, as_of) -> None:
    """Bonuses outstanding, and what burns month by month if no guest orders again."""

    now = aware_moment(as_of) or utcnow()
    try:
        with get_db().unit_of_work(write=False) as session:
            report = liability(session, program.in_force(now), now, months)
    except (rules.ProgramError, ValueError, OverflowError) as error:  # no program; off the calendar
        raise click.BadParameter(str(error), param_hint="--as-of") from None
    for line in report.lines():
        click.echo(line)


@bonus.command("simulate")
@click.option(
    "--rules",
    "rules_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A candidate program file.",
)
@click.option("--since", required=True, callback=iso_moment, help="Orders placed from this date.")
@click.option("--until", callback=iso_moment, help="Orders placed before this date (default now).")
@click.option(
    "--top",
    default=10,
    show_default=True,
    type=click.IntRange(0, MAX_LISTED),
    help="Orders that changed most, listed.",
)
@click.option(
    "--top-guests",
    default=10,
    show_default=True,
    type=click.IntRange(0, MAX_LISTED),
    help="Guests most affected (Σ liability change of their orders), listed.",
)
@click.option(
    "--batch-size", default=1000, show_default=True, type=click.IntRange(1, MAX_BATCH_SIZE)
)
def simulate_command(
    rules_file: str, since, until, top: int, top_guests: int, batch_size: int
) -> None:
    """Replay past orders under a candidate program and compare with what happened."""

    try:
        candidate = rules.load_program(rules_file)
    except rules.ProgramError as error:
        raise click.BadParameter(str(error), param_hint="--rules") from None
    since, until = aware_moment(since), aware_moment(until) or utcnow()
    if since >= until:
        raise click.BadParameter(
            f"--since {since.isoformat()} is not before --until {until.isoformat()}",
            param_hint="--since",
        )
    with get_db().unit_of_work(write=False) as session:
        try:
            report = simulate(session, program.book(), candidate, since, until, top=top,
                              top_guests=top_guests, batch_size=batch_size)  # fmt: skip
        except MissingVersion as error:
            raise click.ClickException(str(error)) from None
    for line in report.lines():
        click.echo(line)


def _client(session, name: str) -> ApiClient:
    client = session.scalar(select(ApiClient).where(ApiClient.name == name))
    if client is None:
        raise click.ClickException(f"no client named {name!r}")
    return client


@bonus.command("revoke-client")
@click.argument("name")
def revoke_client_command(name: str) -> None:
    """Revoke an API client, every key of it: calls are 401 (running workers: within 10 s)."""

    with get_db().unit_of_work() as session:
        client = _client(session, name)
        if client.revoked_at is None:
            client.revoked_at = utcnow()
            audit.record(session, "cli", "client.revoke", name, client.revoked_at)
            session.commit()
    forget_cached_keys()
    click.echo(
        f"client {name!r} revoked at {client.revoked_at.isoformat()}; running workers "
        f"refuse it within {KEY_CACHE_SECONDS:.0f} s"
    )


@bonus.command("rotate-key")
@click.argument("name")
def rotate_key_command(name: str) -> None:
    """Print a new key for the client; its other keys work until `bonus revoke-key`."""

    now = utcnow()
    with get_db().unit_of_work() as session:
        client = _client(session, name)
        if client.revoked_at is not None:
            raise click.ClickException(
                f"client {name!r} was revoked at {client.revoked_at.isoformat()}: it gets no "
                "new key (create another client)"
            )
        key, row = add_key(session, client, now)
        audit.record(session, "cli", "client.rotate_key", name, now, key_id=row.key_id)
        session.commit()
    click.echo(key)
    click.echo(
        f"key {row.key_id} added to client {name!r}; its other keys work until "
        f"`bonus revoke-key {name} KEY_ID` (`bonus list-clients` lists them)",
        err=True,
    )


def _key_id(_ctx, _param, value: str) -> str:
    if not re.fullmatch(f"[0-9a-fA-F]{{{KEY_ID_LENGTH}}}", value):
        raise click.BadParameter(
            f"{value!r}: a key id is the {KEY_ID_LENGTH} hex digits `bonus list-clients` shows"
        )
    return value.lower()


@bonus.command("revoke-key")
@click.argument("name")
@click.argument("key_id", callback=_key_id)
def revoke_key_command(name: str, key_id: str) -> None:
    """Revoke one key of a client (its other keys keep working; running workers: within 10 s)."""

    with get_db().unit_of_work() as session:
        client = _client(session, name)
        keys = session.scalars(select(ApiKey).where(ApiKey.client_id == client.id)).all()
        key = next((k for k in keys if k.key_id == key_id), None)
        if key is None:
            raise click.ClickException(f"client {name!r} has no key {key_id}")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            audit.record(session, "cli", "client.revoke_key", name, key.revoked_at, key_id=key_id)
            session.commit()
        live = sum(1 for k in keys if k.revoked_at is None)
    forget_cached_keys()
    left = f"{live} live key{'' if live == 1 else 's'} left" if live else "no live key left"
    click.echo(
        f"key {key_id} of client {name!r} revoked at {key.revoked_at.isoformat()}; running "
        f"workers refuse it within {KEY_CACHE_SECONDS:.0f} s; {left}"
    )


PASSWORD_STDIN = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)


def _operator_password(from_stdin: bool) -> str:
    """The first line of stdin (for scripts), or a hidden prompt asked twice."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@bonus.command("create-operator")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(operators.ROLES),
    default="operator",
    show_default=True,
    help="operator: guests and adjustments; supervisor: also approves adjustments held for "
    "review and reads the audit log; marketing: programs, no guest.",
)
@PASSWORD_STDIN
def create_operator_command(name: str, role: str, password_stdin: bool) -> None:
    """Create a console account; the password is prompted for (or read from stdin)."""

    password, now = _operator_password(password_stdin), utcnow()
    with get_db().unit_of_work() as session:
        try:
            operator = operators.create(session, name, password, now, role=role)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        audit.record(session, "cli", "operator.create", operator.name, now, role=role)
        session.commit()
    click.echo(f"{role} {operator.name!r} created; log in at /console")


@bonus.command("set-operator-password")
@click.argument("name")
@PASSWORD_STDIN
def set_operator_password_command(name: str, password_stdin: bool) -> None:
    """Give an operator a new password: open sessions end and a lock-out is lifted."""

    password, now = _operator_password(password_stdin), utcnow()
    with get_db().unit_of_work() as session:
        try:
            changed = operators.set_password(session, name, password, now)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        if not changed:
            raise click.ClickException(f"no active operator named {name!r}")
        target = operators.normalise_name(name)
        audit.record(session, "cli", "operator.password_reset", target, now)
        session.commit()
    click.echo(f"operator {target!r} has a new password; their open sessions ended")


@bonus.command("disable-operator")
@click.argument("name")
def disable_operator_command(name: str) -> None:
    """Disable a console operator: no more logins, and open sessions end now."""

    now = utcnow()
    with get_db().unit_of_work() as session:
        if not operators.disable(session, name, now):
            raise click.ClickException(f"no active operator named {name!r}")
        audit.record(session, "cli", "operator.disable", operators.normalise_name(name), now)
        session.commit()
    click.echo(f"operator {operators.normalise_name(name)!r} disabled")
