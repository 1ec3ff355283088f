"""Following referrals: the organisation's referrals, newest first, each with its
timeline, and withdrawing one. Every read goes through Intake with the signed-in user's
organisation, so another organisation's referral is not found, as an unknown one is."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from backbone.clock import uk_time
from backbone.errors import Conflict
from backbone.events import vocabulary as v
from backbone.events.referral import WITHDRAWAL_DETAILS_LENGTH
from services.referral import domain
from services.referral.operations import Intake
from services.referral.pages import presenting
from services.referral.pages.blueprint import pages
from services.referral.schemas import ReferralQuerySchema, WithdrawalSchema

PER_PAGE = 20
QUERY = ReferralQuerySchema(only=("status", "page"))
WITHDRAWAL = WithdrawalSchema()
UNKNOWN_STATUS = "Select a status from the list."
# Kept in the session cookie until the referral's page shows it: no personal data.
WITHDRAWN = "Referral withdrawn. The coordinator has been told."


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
        withdrawable=record["status"] in domain.WITHDRAWABLE,
        status_tag=presenting.status_tag,
        uk_time=uk_time,
        errors={},
    )


@pages.route("/referrals/<referral_id>/withdraw", methods=["GET", "POST"])
def withdraw(referral_id: str) -> ResponseReturnValue:
    """Withdraw a referral, saying why: the family changed their mind, it was sent by
    mistake, or another reason in a few words. Intake decides whether it still can be."""
    partner = g.caller["partner"]
    record = _intake().referral(partner, referral_id)
    if request.method == "GET":
        if record["status"] not in domain.WITHDRAWABLE:
            status = v.REFERRAL_STATUSES.get(record["status"], record["status"]).lower()
            return _cannot_withdraw(record, f"It has been {status}, so it cannot be withdrawn.")
        return _withdraw_page(record, {}, {})
    answers = {name: request.form[name] for name in ("reason", "details") if name in request.form}
    try:
        withdrawal = WITHDRAWAL.load(answers)
    except ValidationError as error:
        errors = {
            name: error.messages[name][0]
            for name in ("reason", "details")
            if name in error.messages
        }
        return _withdraw_page(record, answers, errors), 400
    try:
        _intake().withdraw(partner, referral_id, withdrawal, domain.withdrawn_by_user(g.caller))
    except Conflict as refusal:  # withdrawn already (another tab), or its case has ended
        return _cannot_withdraw(record, refusal.detail)
    flash(WITHDRAWN, "withdrawn")
    return redirect(url_for("pages.referral", referral_id=referral_id))


def _withdraw_page(record: dict[str, Any], answers: dict[str, str], errors: dict[str, str]) -> str:
    reasons = [{"value": code, "text": words} for code, words in v.WITHDRAWAL_REASONS.items()]
    return render_template(
        "withdraw.html",
        record=record,
        reasons=reasons,
        answers=answers,
        details_length=WITHDRAWAL_DETAILS_LENGTH,
        errors=errors,
    )


def _cannot_withdraw(record: dict[str, Any], why: str) -> ResponseReturnValue:
    return render_template("withdraw.html", record=record, cannot=why, errors={}), 409
