"""The casework web process: `gunicorn "services.casework.app:create_app()"`."""

from __future__ import annotations

from datetime import timedelta

import pymongo
from flask import Flask, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect

from backbone import logs, mongo
from backbone.settings import Settings
from backbone.web import create_service_app, register_api, serve_node_package
from services.casework import SERVICE
from services.casework.api import blp
from services.casework.operations import Casework
from services.casework.pages import pages
from services.casework.repository import Cases
from services.casework.staff import Staff


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logs.configure(SERVICE, settings.log_level)
    db = mongo.database(settings, SERVICE)
    cases = Cases(db)
    staff = Staff(db)
    # Under `make run` the database may still be starting: wait for it rather than fail.
    with pymongo.timeout(60):
        cases.ensure_indexes()
        staff.ensure_indexes()

    app, api = create_service_app(
        SERVICE, "Family Ties casework", db, settings, [cases.cases], ("staffKey", "Staff API key")
    )
    app.extensions["casework"] = Casework(cases, staff)
    register_api(app, api, blp, staff, "staff")
    _add_pages(app, settings)
    return app


def _add_pages(app: Flask, settings: Settings) -> None:
    """The coordinators' web pages: signed sessions in secure cookies, CSRF tokens on
    every form. The JSON API authenticates by key, not cookie, so needs no CSRF token."""
    app.config.update(
        SECRET_KEY=settings.secret_key(),
        SESSION_COOKIE_NAME="familyties_casework",
        SESSION_COOKIE_SECURE=True,  # browsers still send it to http://127.0.0.1 and localhost
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
    )
    csrf = CSRFProtect(app)
    csrf.exempt(blp)
    serve_node_package(app, "/static/govuk", "govuk-frontend/dist/govuk")
    # GOV.UK Frontend's and MoJ Frontend's stylesheets ask for fonts and images at /assets/.
    assets = ("govuk-frontend/dist/govuk/assets", "@ministryofjustice/frontend/moj/assets")
    serve_node_package(app, "/assets", *assets)
    serve_node_package(app, "/static/moj", "@ministryofjustice/frontend/moj")
    app.register_blueprint(pages)

    @app.errorhandler(CSRFError)
    def refused_form(error: CSRFError):
        return render_template("error.html", errors={}, title="This form has expired",
                               detail="Go back, reload the page and try again."), 400  # fmt: skip
