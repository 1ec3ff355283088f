"""The reporting web process: `gunicorn "services.reporting.app:create_app()"`."""

from __future__ import annotations

from flask import Flask

from backbone import mongo
from backbone.pages import add_govuk_pages
from backbone.settings import Settings
from backbone.sign_in import add_sign_in
from backbone.web import create_service_app, register_api, start
from services.reporting import SERVICE
from services.reporting.api import blp
from services.reporting.metrics import first_contact_times
from services.reporting.operations import Reports
from services.reporting.pages import pages
from services.reporting.repository import ReportingView
from services.reporting.viewers import Viewers


def create_app(settings: Settings | None = None) -> Flask:
    settings, db = start(SERVICE, settings)
    view = ReportingView(db)
    viewers = Viewers(db)
    mongo.ensure_indexes(view, viewers)
    reports = Reports(view, settings.reporting_hide_small_numbers)
    app, api = create_service_app(
        SERVICE,
        "Family Ties reporting",
        db,
        settings,
        key_scheme=("viewerKey", "A report viewer's API key"),
        key_for_every_operation=True,
        collectors=first_contact_times(reports),
    )
    app.extensions["reports"] = reports
    register_api(app, api, blp, viewers, "viewer")
    # The managers' and funders' pages, behind signing in (backbone.sign_in).
    add_govuk_pages(app, pages)
    app.register_blueprint(pages)
    add_sign_in(
        app,
        pages,
        viewers,
        settings,
        cookie_name="familyties_reporting",
        home="pages.dashboard",
        csrf_exempt=[blp],
    )
    return app
