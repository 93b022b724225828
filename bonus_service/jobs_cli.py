"""The jobs' commands (`flask --app wsgi bonus expire|scheduler`), added to the `bonus` group by
the composition root (`app.create_app`): the CLI of the service imports nothing of the
scheduler, whose jobs import the service.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

import rules
from bonus_service import program
from bonus_service.app_db import get_db
from bonus_service.cli import MAX_BATCH_SIZE, aware_moment, bonus, iso_moment
from bonus_service.clock import utcnow
from bonus_service.migrate import schema
from scheduler.jobs import expire_balances
from scheduler.schedule import run_blocking


def init_app(app: Flask) -> None:
    """Add the jobs' commands to the `bonus` group (which `cli.init_app` puts on app.cli)."""
    bonus.add_command(expire_command)
    bonus.add_command(scheduler_command)


@click.command("expire")
@with_appcontext
@click.option("--as-of", "as_of", callback=iso_moment, help="Run as of this ISO date-time.")
@click.option("--dry-run", is_flag=True, help="Count what would burn; change nothing.")
@click.option(
    "--batch-size", default=5000, show_default=True, type=click.IntRange(1, MAX_BATCH_SIZE)
)
def expire_command(as_of, dry_run: bool, batch_size: int) -> None:
    """Burn the balances of idle guests now (the nightly job, by hand)."""

    now = aware_moment(as_of) or utcnow()
    if now > utcnow() and not dry_run:
        # a typo in the year would burn balances not due yet, in entries dated ahead
        raise click.BadParameter(
            f"{now.isoformat()} is in the future: only --dry-run may look ahead",
            param_hint="--as-of",
        )
    try:
        report = expire_balances(
            get_db(),
            program.book(),
            now,
            batch_size=batch_size,
            dry_run=dry_run,
            written_at=utcnow(),
        )
    except rules.ProgramError as error:  # no program in force then
        raise click.BadParameter(str(error), param_hint="--as-of") from None
    verb = "would burn" if dry_run else "burned"
    click.echo(
        f"{verb} {report.guests} balances, {report.bonuses} bonuses "
        f"(idle since before {report.cutoff.isoformat()}, rules {report.rules_version}, "
        f"as of {now.isoformat()})"
    )


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the periodic jobs in this process until stopped (keep BONUS_SCHEDULER=false on web)."""

    found = schema(get_db())  # an unreachable database fails here: one line, exit 3
    if not found.usable:
        # it would say "running" and only log a traceback per job until someone looked
        raise click.ClickException(
            f"the database schema is at {found.revision or 'no revision'}"
            f", behind this release's {found.head}: run `bonus init-db`"
        )
    click.echo("scheduler running; Ctrl-C to stop")
    run_blocking(current_app._get_current_object())
