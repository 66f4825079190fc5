"""WSGI entry point for gunicorn: ``gunicorn helpline.wsgi:app``."""

from helpline.app import create_app

app = create_app()
