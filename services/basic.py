"""The parts of a service that is not built yet: health, metrics, an empty OpenAPI
document, and a worker that owns its topic. Notifications and reporting start from here
until their issues build them."""

from __future__ import annotations

from flask import Flask

from backbone import logs, mongo
from backbone.events.catalogue import topic_of
from backbone.settings import Settings
from backbone.web import create_service_app
from backbone.worker import WorkerPlan


def basic_app(service: str, title: str, settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logs.configure(service, settings.log_level)
    db = mongo.database(settings, service)
    app, _ = create_service_app(service, title, db, settings)
    return app


def basic_plan(service: str) -> WorkerPlan:
    return WorkerPlan(service, topics=[topic_of(service)])
