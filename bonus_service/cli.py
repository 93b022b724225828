"""`flask --app wsgi bonus ...`: schema, API clients, serving."""

from __future__ import annotations

import os
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from bonus_service.auth import SCOPES, create_client
from bonus_service.clock import utcnow
from bonus_service.db import get_db
from bonus_service.migrate import upgrade

bonus = AppGroup("bonus", help="Bonus Engine operations.")


@bonus.command("init-db")
def init_db() -> None:
    """Bring the schema to the current version (safe to rerun)."""
    revision = upgrade(get_db())
    click.echo(f"database at revision {revision}: {_safe_url(get_db().url)}")


def _safe_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}" if "@" in rest else url


@bonus.command("create-client")
@click.argument("name")
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
    with get_db().unit_of_work() as session:
        from sqlalchemy import select

        from bonus_service.models import ApiClient

        if session.scalar(select(ApiClient).where(ApiClient.name == name)):
            raise click.ClickException(f"a client named {name!r} already exists")
        key = create_client(session, name, list(scopes), utcnow())
        session.commit()
    click.echo(key)


@bonus.command("serve", context_settings={"ignore_unknown_options": True})
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=1, show_default=True, type=int)
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve(bind: str, workers: int, gunicorn_args: tuple[str, ...]) -> None:
    """Serve with gunicorn (threads in one worker keep the in-process scheduler single)."""
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
        "--access-logfile",
        "-",
        *gunicorn_args,
        "wsgi:app",
    ]
    click.echo(f"serving on http://{bind} (docs at http://{bind}/docs)")
    os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter, fixed arguments


def init_app(app: Flask) -> None:
    app.cli.add_command(bonus)
