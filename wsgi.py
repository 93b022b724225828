"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import sys

import click

from bonus_service.app import create_app
from bonus_service.settings import SettingsError
from rules import ProgramError

try:
    app = create_app()
except (SettingsError, ProgramError) as error:
    # One line naming the variable or the program file, not a traceback per gunicorn worker;
    # exit status 3 is gunicorn's "worker failed to boot", which stops the master instead of
    # respawning the worker for ever.
    print(f"Bonus Engine cannot start: {error}", file=sys.stderr)
    raise SystemExit(3) from None

# The periodic jobs run inside the serving process when BONUS_SCHEDULER is on (the default),
# but not when `flask --app wsgi ...` loads the app to run one command (click is running then).
if app.extensions["bonus_settings"].scheduler_enabled and not click.get_current_context(True):
    from scheduler.schedule import start_background

    scheduler = start_background(app)
