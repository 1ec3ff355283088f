"""The notifications web process: `gunicorn "services.notifications.app:create_app()"`."""

from __future__ import annotations

from flask import Flask

from backbone import mongo
from backbone.sealing import Sealer
from backbone.settings import Settings
from backbone.web import create_service_app, register_api, start
from services.notifications import SERVICE, templates
from services.notifications.api import blp
from services.notifications.endpoints import Endpoints
from services.notifications.metrics import OldestQueued, failed_last_day
from services.notifications.pages import add_pages
from services.notifications.repository import Store
from services.notifications.staff_sign_in import StaffSignIn


def create_app(settings: Settings | None = None, resolver=None) -> Flask:
    checked = templates.check_all()  # a bad template stops the process here, not at send time
    settings, db = start(SERVICE, settings)
    store = Store(db)
    sign_in = StaffSignIn(db)
    mongo.ensure_indexes(store, sign_in)
    app, api = create_service_app(
        SERVICE,
        "Family Ties notifications",
        db,
        settings,
        [store.messages],
        ("partnerKey", "The partner's intake API key"),
        key_for_every_operation=True,
        collectors=[OldestQueued(store.oldest_queued), failed_last_day(store.failed_by_channel)],
    )
    app.extensions["store"] = store
    guard = {"resolver": resolver} if resolver else {}
    app.extensions["endpoints"] = Endpoints(
        store, settings.webhook_allow_private_addresses, Sealer.from_settings(settings), **guard
    )
    register_api(app, api, blp, store.partners, "partner")
    add_pages(app, settings, store, sign_in, blp, checked)
    return app
