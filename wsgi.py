"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import click

from bonus_service import create_app

app = create_app()

# The periodic jobs run inside the serving process when BONUS_SCHEDULER is on (the default),
# but not when `flask --app wsgi ...` loads the app to run one command (click is running then).
if app.extensions["bonus_settings"].scheduler_enabled and not click.get_current_context(True):
    from scheduler.schedule import start_background

    scheduler = start_background(app)
