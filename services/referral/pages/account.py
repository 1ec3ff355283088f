"""Partner users' accounts: "Your account" (the second factor: set it up, turn it off, new
recovery codes), "Your organisation's users" for administrators (invite, remove, require
a second factor), and the invitation's link, where an invitee becomes a user.

Setting up the authenticator app itself is backbone.sign_in's page (set_up_second_factor),
which also serves someone signing in whose organisation requires one; making new recovery
codes is backbone.second_factor_pages' (new_recovery_codes), as for casework's staff."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    g,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from backbone.second_factor import SecondFactors
from backbone.second_factor_pages import CODE_PAGE, checked_app_code
from backbone.settings import Settings
from services.referral.invitations import (
    EMAIL_TAKEN,
    EmailTaken,
    Invitations,
    acceptance_errors,
    expiry_text,
    invitation_errors,
    invitation_link,
    send_invitation,
    tidy_name,
)
from services.referral.pages.blueprint import error_page, pages
from services.referral.partner_users import ROLES, PartnerUsers
from services.referral.partners import Partners

CHOOSE_REQUIRED = "Choose whether everyone must use an authenticator app"


def _users() -> PartnerUsers:
    return current_app.extensions["partner_users"]


def _factors() -> SecondFactors:
    return _users().second_factors


def _invitations() -> Invitations:
    return current_app.extensions["invitations"]


def _partners() -> Partners:
    return current_app.extensions["partners"]


def _settings() -> Settings:
    return current_app.extensions["settings"]


def _required() -> bool:
    return bool(g.caller["partner"].get("second_factor_required"))


def _page(template: str, status: int = 200, errors: dict | None = None, **values: Any):
    response = make_response(render_template(template, errors=errors or {}, **values), status)
    response.headers["Cache-Control"] = "no-store"  # codes, links, users' addresses
    return response


# ---- your account ---------------------------------------------------------------------


@pages.get("/account")
def account() -> ResponseReturnValue:
    me = g.caller["_id"]
    set_up = _factors().is_set_up(me)
    return _page(
        "account_home.html",
        set_up=set_up,
        codes_left=_factors().recovery_codes_left(me) if set_up else 0,
        required=_required(),
        notices=get_flashed_messages(),
    )


def _code_page(action: str, status: int = 200, errors: dict | None = None):
    return _page(CODE_PAGE, status, errors, action=action, back="pages.account")


@pages.route("/account/second-factor/turn-off", methods=["GET", "POST"])
def turn_off_second_factor() -> ResponseReturnValue:
    if _required():
        return error_page(
            403,
            "You cannot turn off your authenticator app",
            "Your organisation requires everyone to use one to sign in.",
        )
    if not _factors().is_set_up(g.caller["_id"]):
        return redirect(url_for("pages.account"))
    if request.method != "POST":
        return _code_page("turn_off")
    refused = checked_app_code(
        _users(), _factors(), lambda status, errors: _code_page("turn_off", status, errors)
    )
    if refused is not None:
        return refused
    _factors().turn_off(g.caller["_id"])
    flash("Your authenticator app is turned off. You sign in with your password alone.")
    return redirect(url_for("pages.account"))


# ---- your organisation's users (administrators) --------------------------------------


def _admin() -> dict[str, Any]:
    if "admin" not in g.caller["roles"]:
        abort(403)
    return g.caller


@pages.get("/users")
def users() -> ResponseReturnValue:
    me = _admin()
    return _page(
        "account_users.html",
        users=_users().of_partner(me["partner_id"]),
        required=_required(),
        roles=ROLES,
        notices=get_flashed_messages(),
    )


@pages.route("/users/invite", methods=["GET", "POST"])
def invite() -> ResponseReturnValue:
    me = _admin()
    answers = {"email": "", "name": "", "role": ""}
    if request.method != "POST":
        return _page("account_invite.html", answers=answers, roles=ROLES)
    answers = {
        "email": request.form.get("email", "").strip(),
        "name": tidy_name(request.form.get("name", "")),
        "role": request.form.get("role", ""),
    }
    errors = invitation_errors(**answers)
    if not errors:
        try:
            invitation, token = _invitations().invite(
                me["partner"], **answers, invited_by=me["_id"]
            )
        except EmailTaken:
            errors = {"email": EMAIL_TAKEN}
    if errors:
        return _page("account_invite.html", 400, errors, answers=answers, roles=ROLES)
    link = invitation_link(_settings().public_url("referral"), token)
    sent = send_invitation(_settings(), invitation, me["partner"]["name"], link)
    return _page(
        "account_invited.html",
        invitation=invitation,
        sent=sent,
        link=link,
        until=expiry_text(invitation["expires_at"]),
    )


def _colleague(user_id: str) -> dict[str, Any]:
    """A current user of the caller's organisation (404 for anyone else's)."""
    found = _users().colleague(g.caller["partner_id"], user_id)
    if found is None:
        abort(404)
    return found


@pages.route("/users/<user_id>/remove", methods=["GET", "POST"])
def remove_user(user_id: str) -> ResponseReturnValue:
    me = _admin()
    if user_id == me["_id"]:
        return error_page(
            403,
            "You cannot remove yourself",
            "Another administrator of your organisation can remove you.",
        )
    user = _colleague(user_id)
    if request.method != "POST":
        return _page("account_remove.html", user=user)
    removed = _users().remove(me["partner_id"], user_id)
    if removed is None:
        abort(404)
    flash("The user is removed, and signed out.")  # the cookie holds no one's name
    return redirect(url_for("pages.users"))


@pages.route("/users/second-factor", methods=["GET", "POST"])
def require_second_factor() -> ResponseReturnValue:
    me = _admin()
    if request.method != "POST":
        return _page("account_require.html", chosen="yes" if _required() else "no")
    chosen = request.form.get("required", "")
    if chosen not in ("yes", "no"):
        errors = {"required": CHOOSE_REQUIRED}
        return _page("account_require.html", 400, errors, chosen="")
    _partners().require_second_factor(me["partner_id"], chosen == "yes")
    flash(
        "Everyone must now use an authenticator app to sign in."
        if chosen == "yes"
        else "Using an authenticator app is now each user's choice."
    )
    return redirect(url_for("pages.users"))


# ---- an invitation's link ----------------------------------------------------------------


def _gone(state: str) -> ResponseReturnValue:
    status = 404 if state == "unknown" else 410
    return _page("account_invitation_gone.html", status, state=state)


@pages.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str) -> ResponseReturnValue:
    found = _invitations().find(token)
    if found.state != "open":
        return _gone(found.state)
    invited = found.invitation
    partner = _partners().current(invited["partner_id"])
    name = invited["name"]
    if request.method != "POST":  # a mail scanner's fetch does not use the link up
        return _page("account_invitation.html", invitation=invited, partner=partner, name=name)
    name = tidy_name(request.form.get("name", ""))
    password = request.form.get("password", "")
    errors = acceptance_errors(name, password, request.form.get("confirmation", ""))
    if errors:
        return _page(
            "account_invitation.html", 400, errors, invitation=invited, partner=partner, name=name
        )
    try:
        accepted = _invitations().accept(token, name, password)
    except EmailTaken:
        return error_page(
            409,
            "You already have an account",
            "Somebody already signs in with this email address. Sign in, or ask your "
            "organisation's administrator.",
        )
    if accepted.state != "open":
        return _gone(accepted.state)
    return _page("account_invitation_accepted.html", invitation=invited, partner=partner)
