"""Signing in to a service's web pages: the sign-in and sign-out pages, the session cookie,
CSRF tokens on every form, and the check that sends a visitor who is not signed in to
sign in. `g.caller` is the account signed in, as it is the key holder for an API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from flask import (
    Blueprint,
    Flask,
    Response,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect

from backbone.accounts import LOCKOUT, Accounts, LockedOut
from backbone.settings import Settings

WRONG_PASSWORD = "Enter a correct username and password"
LOCKED_OUT = f"Too many wrong passwords: try again in {LOCKOUT // timedelta(minutes=1)} minutes"


def add_sign_in(
    app: Flask,
    pages: Blueprint,
    accounts: Accounts,
    settings: Settings,
    *,
    cookie_name: str,
    home: str,
    template: str = "sign_in.html",
    error_template: str = "error.html",
    open_endpoints: Iterable[str] = (),
    csrf_exempt: Iterable[Blueprint] = (),
    session_lasting: timedelta = timedelta(hours=8),
) -> None:
    """Put `pages` (a blueprint registered on `app`) behind signing in as one of
    `accounts`, at /sign-in and /sign-out under the blueprint's prefix.

    Signed in, a visitor goes to `home` (an endpoint). Every page of the blueprint but
    `open_endpoints`, the sign-in page and the blueprint's static files needs a session.
    `template` renders the sign-in form (with `errors` and `username`); `error_template`
    the refused form (with `title` and `detail`). Every POST of the app needs a CSRF
    token but those of `csrf_exempt` (the APIs, which take keys, not cookies).
    """
    app.config.update(
        SECRET_KEY=settings.secret_key(),
        SESSION_COOKIE_NAME=cookie_name,
        SESSION_COOKIE_SECURE=True,  # browsers still send it to http://127.0.0.1 and localhost
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=session_lasting,
    )
    csrf = CSRFProtect(app)
    for blueprint in csrf_exempt:
        csrf.exempt(blueprint)
    sign_in_endpoint = f"{pages.name}.sign_in"
    open_to_all = {sign_in_endpoint, f"{pages.name}.static", *open_endpoints}

    def sign_in_page(errors: dict[str, str], username: str, status: int) -> Response:
        page = render_template(template, errors=errors, username=username)
        return make_response(page, status)

    def sign_in() -> Response:
        if request.method != "POST":  # GET, or HEAD
            return sign_in_page({}, "", 200)
        typed = request.form.get("username", "")
        try:
            account = accounts.sign_in(typed.strip().lower(), request.form.get("password", ""))
        except LockedOut:
            return sign_in_page({"username": LOCKED_OUT}, "", 429)
        if account is None:
            return sign_in_page({"username": WRONG_PASSWORD}, typed, 401)
        session.clear()  # a new session for the signed-in person
        session["token"] = accounts.start_session(account["_id"], session_lasting)
        session.permanent = True
        return redirect(url_for(home))

    def sign_out() -> Response:
        if session.get("token"):
            accounts.end_session(session["token"])
        session.clear()
        return redirect(url_for(sign_in_endpoint))

    def require_sign_in() -> Response | None:
        g.caller = None
        token = session.get("token")
        if token:
            g.caller = accounts.signed_in(token)
            if g.caller is None:  # expired, signed out elsewhere, or the account revoked
                session.clear()
        if g.caller is None and request.endpoint not in open_to_all:
            return redirect(url_for(sign_in_endpoint))
        return None

    # Routes join the blueprint by name, as registering it does, so its headers, error
    # pages and templates apply to them: the blueprint object itself is shared by every
    # app the process makes, and takes no routes once registered.
    prefix = pages.url_prefix or ""
    app.add_url_rule(f"{prefix}/sign-in", sign_in_endpoint, sign_in, methods=["GET", "POST"])
    app.add_url_rule(f"{prefix}/sign-out", f"{pages.name}.sign_out", sign_out, methods=["POST"])
    app.before_request_funcs.setdefault(pages.name, []).insert(0, require_sign_in)

    @app.errorhandler(CSRFError)
    def refused_form(error: CSRFError) -> tuple[str, int]:
        page = render_template(
            error_template,
            errors={},
            title="This form has expired",
            detail="Go back, reload the page and try again.",
        )
        return page, 400
