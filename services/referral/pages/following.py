"""Following referrals: the organisation's referrals, newest first, each with its
timeline, and withdrawing one. Every read goes through Intake with the signed-in user's
organisation, so another organisation's referral is not found, as an unknown one is."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from backbone.events import vocabulary as v
from services.referral.operations import Intake
from services.referral.pages import presenting
from services.referral.pages.blueprint import pages
from services.referral.schemas import ReferralQuerySchema

PER_PAGE = 20
QUERY = ReferralQuerySchema(only=("status", "page"))
UNKNOWN_STATUS = "Select a status from the list."


def _intake() -> Intake:
    return current_app.extensions["intake"]


@pages.get("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("pages.referrals"))


@pages.get("/referrals")
def referrals() -> ResponseReturnValue:
    """The organisation's referrals, newest first, a page at a time, of one status or any."""
    chosen = {name: request.args[name] for name in ("status", "page") if request.args.get(name)}
    try:
        query = QUERY.load(chosen)
    except ValidationError as error:
        if "status" not in error.messages:
            abort(404)  # a page number changed by hand: there is no such page
        # A status changed by hand in the address: say so, rather than show every referral.
        page = _referrals_page(None, chosen["status"], {"status": UNKNOWN_STATUS})
        return page, 400
    status = query.get("status", "")
    found = _intake().page(
        g.caller["partner"], {"status": status} if status else {}, query["page"], PER_PAGE
    )
    if query["page"] > max(found["total_pages"], 1):
        abort(404)
    return _referrals_page(found, status, {})


def _referrals_page(found: dict[str, Any] | None, status: str, errors: dict[str, str]) -> str:
    def href(number: int) -> str:
        return url_for("pages.referrals", status=status or None, page=number)

    return render_template(
        "referrals.html",
        found=found,
        status=status,
        statuses=[{"value": "", "text": "Any status"}]
        + [{"value": code, "text": words} for code, words in v.REFERRAL_STATUSES.items()],
        pagination=found and presenting.pagination(found["page"], found["total_pages"], href),
        status_tag=presenting.status_tag,
        uk_date=presenting.uk_date,
        errors=errors,
    )


@pages.get("/referrals/<referral_id>")
def referral(referral_id: str) -> ResponseReturnValue:
    """One of the organisation's referrals: what became of it, and what was sent."""
    record = _intake().referral(g.caller["partner"], referral_id)
    return render_template(
        "referral.html",
        record=record,
        timeline=presenting.timeline(record["status_history"]),
        sections=presenting.sent_sections(record["referral"]),
        status_tag=presenting.status_tag,
        uk_time=presenting.uk_time,
        errors={},
    )
