"""The notifications web process: `gunicorn "services.notifications.app:create_app()"`."""

from flask import Flask

from backbone.settings import Settings
from services.basic import basic_app
from services.notifications import SERVICE


def create_app(settings: Settings | None = None) -> Flask:
    return basic_app(SERVICE, "Family Ties notifications", settings)
