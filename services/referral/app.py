"""Intake's web process: `gunicorn "services.referral.app:create_app()"`."""

from __future__ import annotations

from flask import Flask

from backbone import mongo
from backbone.settings import Settings
from backbone.web import create_service_app, register_api, start
from services.referral import SERVICE
from services.referral.api import blp
from services.referral.metrics import referrals_this_month
from services.referral.operations import Intake
from services.referral.partners import Partners
from services.referral.repository import Referrals


def create_app(settings: Settings | None = None) -> Flask:
    settings, db = start(SERVICE, settings)
    referrals = Referrals(db)
    partners = Partners(db)
    mongo.ensure_indexes(referrals, partners)

    app, api = create_service_app(
        SERVICE,
        "Family Ties intake",
        db,
        settings,
        [referrals.collection, partners.collection],
        ("partnerKey", "Partner API key"),
        key_for_every_operation=True,
        collectors=[referrals_this_month(referrals)],
    )
    app.extensions["intake"] = Intake(referrals)
    app.extensions["partners"] = partners
    register_api(app, api, blp, partners, "partner")
    return app
