"""Intake's web process: `gunicorn "services.referral.app:create_app()"`."""

from __future__ import annotations

from flask import Flask

from backbone import mongo
from backbone.pages import add_govuk_pages
from backbone.sealing import Sealer
from backbone.second_factor_pages import add_new_recovery_codes
from backbone.settings import Settings
from backbone.sign_in import add_sign_in
from backbone.web import create_service_app, register_api, start
from services.referral import SERVICE
from services.referral.api import blp
from services.referral.drafts import Drafts
from services.referral.invitations import Invitations
from services.referral.metrics import referrals_this_month
from services.referral.operations import Intake
from services.referral.pages import pages
from services.referral.partner_users import PartnerUsers
from services.referral.partners import Partners
from services.referral.repository import Referrals


def create_app(settings: Settings | None = None) -> Flask:
    settings, db = start(SERVICE, settings)
    referrals = Referrals(db)
    partners = Partners(db)
    users = PartnerUsers(db, partners, Sealer.from_settings(settings))
    drafts = Drafts(db)
    mongo.ensure_indexes(referrals, partners, users, drafts)

    app, api = create_service_app(
        SERVICE,
        "Family Ties intake",
        db,
        settings,
        [referrals.collection, partners.collection],
        ("partnerKey", "Partner API key"),
        key_for_every_operation=True,
        collectors=referrals_this_month(referrals),
    )
    app.extensions["intake"] = Intake(referrals)
    app.extensions["partners"] = partners
    app.extensions["drafts"] = drafts
    register_api(app, api, blp, partners, "partner")
    _add_pages(app, settings, users)
    return app


def _add_pages(app: Flask, settings: Settings, users: PartnerUsers) -> None:
    """Partners' web pages, behind signing in (backbone.sign_in): sessions in secure
    cookies, CSRF tokens on every form, and a second factor for users who set one up or
    whose organisation requires one. The JSON API authenticates by key, so needs none.
    An invitation's link is open to anyone who has it."""
    invitations = Invitations(users.collection.database, users)
    mongo.ensure_indexes(invitations)
    app.extensions["partner_users"] = users
    app.extensions["invitations"] = invitations
    app.extensions["settings"] = settings  # for emailing invitations, and links' address
    add_govuk_pages(app, pages)
    app.register_blueprint(pages)
    add_sign_in(
        app,
        pages,
        users,
        settings,
        cookie_name="familyties_referrals",
        home="pages.home",
        open_endpoints=["pages.invitation"],
        csrf_exempt=[blp],
        username_label="Email address",
        second_factors=users.second_factors,
        second_factor_required=lambda user: bool(user["partner"].get("second_factor_required")),
    )
    add_new_recovery_codes(app, pages, users, users.second_factors, back="pages.account")
