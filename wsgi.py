"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from bonus_service import create_app

app = create_app()
