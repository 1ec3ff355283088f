"""The casework web process: `gunicorn "services.casework.app:create_app()"`."""

from __future__ import annotations

import pymongo
from flask import Flask
from prometheus_client import CollectorRegistry

from backbone import logs, metrics, mongo, outbox
from backbone.health import broker_check, database_check
from backbone.settings import Settings
from backbone.web import create_service_app
from services.casework import SERVICE
from services.casework.api import blp
from services.casework.operations import Casework
from services.casework.repository import Cases
from services.casework.staff import Staff


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logs.configure(SERVICE, settings.log_level)
    db = mongo.database(settings, SERVICE)
    cases = Cases(db)
    staff = Staff(db, settings.api_key_cache_seconds)
    # Under `make run` the database may still be starting: wait for it rather than fail.
    with pymongo.timeout(60):
        cases.ensure_indexes()
        staff.ensure_indexes()

    backlog = CollectorRegistry()
    backlog.register(metrics.OutboxBacklog(lambda: outbox.backlog([cases.cases])))
    app, api = create_service_app(
        SERVICE, "Family Ties casework", [database_check(db), broker_check(settings)], backlog
    )
    app.extensions["casework"] = Casework(cases, staff)
    api.spec.components.security_scheme(
        "staffKey", {"type": "http", "scheme": "bearer", "description": "Staff API key"}
    )
    api.register_blueprint(blp)
    return app
