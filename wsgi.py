"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from athlete_sched import create_app

app = create_app()
