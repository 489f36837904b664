"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi …`."""

from hub.app import create_app

app = create_app()
