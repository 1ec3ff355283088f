"""The casework web process: `gunicorn "services.casework.app:create_app()"`."""

from flask import Flask

from backbone.settings import Settings
from services.basic import basic_app
from services.casework import SERVICE


def create_app(settings: Settings | None = None) -> Flask:
    return basic_app(SERVICE, "Family Ties casework", settings)
