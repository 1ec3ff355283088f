"""The casework web process: `gunicorn "services.casework.app:create_app()"`."""

from __future__ import annotations

from flask import Flask

from backbone import mongo
from backbone.pages import add_govuk_pages
from backbone.sealing import Sealer
from backbone.second_factor_pages import add_new_recovery_codes
from backbone.settings import Settings
from backbone.sign_in import add_sign_in
from backbone.web import create_service_app, register_api, serve_node_package, start
from services.casework import SERVICE
from services.casework.api import blp
from services.casework.metrics import waiting_cases
from services.casework.operations import Casework
from services.casework.pages import pages
from services.casework.repository import Cases
from services.casework.staff import Staff


def create_app(settings: Settings | None = None) -> Flask:
    settings, db = start(SERVICE, settings)
    cases = Cases(db)
    staff = Staff(db, Sealer.from_settings(settings))
    mongo.ensure_indexes(cases, staff)

    app, api = create_service_app(
        SERVICE,
        "Family Ties casework",
        db,
        settings,
        [cases.cases, staff.collection],
        ("staffKey", "Staff API key"),
        collectors=waiting_cases(cases),
    )
    app.extensions["casework"] = Casework(cases, staff)
    register_api(app, api, blp, staff, "staff")
    _add_pages(app, settings, staff)
    return app


def _add_pages(app: Flask, settings: Settings, staff: Staff) -> None:
    """The coordinators' web pages, behind signing in (backbone.sign_in): sessions in
    secure cookies, CSRF tokens on every form, and an authenticator app's code after the
    password for everyone, always (staff read every family's details): someone without
    one sets it up before any page, and may make new recovery codes. The JSON API
    authenticates by key, not cookie, so needs neither a CSRF token nor a second
    factor."""
    add_govuk_pages(app, pages, "@ministryofjustice/frontend/moj/assets")
    serve_node_package(app, "/static/moj", "@ministryofjustice/frontend/moj")
    app.register_blueprint(pages)
    add_sign_in(
        app,
        pages,
        staff,
        settings,
        cookie_name="familyties_casework",
        home="pages.my_cases",
        csrf_exempt=[blp],
        second_factors=staff.second_factors,
        second_factor_required=lambda account: True,
    )
    add_new_recovery_codes(app, pages, staff, staff.second_factors, back="pages.my_cases")
