"""Signing in to a service's web pages: the sign-in and sign-out pages, the session cookie,
CSRF tokens on every form, a limit on sign-in attempts per client address, the check
that sends a visitor who is not signed in to sign in, and, where a service gives its
accounts one, a second factor (backbone.second_factor). `g.caller` is the account signed
in, as it is the key holder for an API."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import pymongo
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import Limiter, RequestLimit
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError, CSRFProtect

from backbone.accounts import LOCKOUT, Accounts, LockedOut
from backbone.second_factor import (
    SecondFactors,
    authenticator_link,
    checked_code,
    grouped,
    is_app_code,
    normalised,
    qr_code_image,
)
from backbone.sessions import SessionKeeping
from backbone.settings import Settings

WRONG_PASSWORD = "Enter a correct username and password"
LOCKED_OUT = f"Too many wrong passwords: try again in {LOCKOUT // timedelta(minutes=1)} minutes"
ENTER_CODE = "Enter the 6-digit code from your authenticator app, or a recovery code"
WRONG_CODE = "The code is not right, or was used already: enter the new code from your app"
WRONG_SET_UP_CODE = "Enter the 6-digit code your authenticator app shows now for Family Ties"
LOCKED_OUT_CODES = (
    f"Too many wrong passwords or codes: sign in again in {LOCKOUT // timedelta(minutes=1)} minutes"
)
# How long a right password waits for the second factor.
PASSWORD_CHECKED_LASTING = timedelta(minutes=5)
PASSWORD_CHECKED = "password_checked"
SET_UP_VISIT = "second_factor_set_up_visit"
# The page each next step of signing in is on (see add_sign_in).
SECOND_FACTOR_PAGES = {"use": "second_factor", "set_up": "set_up_second_factor"}
TOO_MANY_FROM_ADDRESS = "Too many attempts from this address: wait a minute and try again"


def add_sign_in(
    app: Flask,
    pages: Blueprint,
    accounts: Accounts,
    settings: Settings,
    *,
    cookie_name: str,
    home: str,
    template: str = "familyties/sign_in.html",
    error_template: str = "error.html",
    open_endpoints: Iterable[str] = (),
    csrf_exempt: Iterable[Blueprint] = (),
    session_lasting: timedelta = timedelta(hours=8),
    attempts_per_address: str = "10 per minute",
    username_label: str = "Username",
    second_factors: SecondFactors | None = None,
    second_factor_required: Callable[[dict[str, Any]], bool] = lambda account: False,
) -> None:
    """Put `pages` (a blueprint registered on `app`) behind signing in as one of
    `accounts` with a username and password, at /sign-in under the blueprint's prefix.

    Signed in, a visitor goes to `home` (an endpoint). `template` renders the sign-in
    form (with `errors`, `username` and `username_label`). A client address may try
    `attempts_per_address` sign-ins, counted across processes in the accounts' database.
    The rest is `add_sessions'`.

    With `second_factors`, an account that has one, or must have one
    (`second_factor_required(account)`, the account as `accounts.by_id` answers it),
    proves it before any session starts: see `_add_second_factor`.
    """
    endpoints = [*open_endpoints]
    if second_factors is not None:
        endpoints += [f"{pages.name}.second_factor", f"{pages.name}.set_up_second_factor"]
    limiter = add_sessions(
        app,
        pages,
        accounts,
        settings,
        cookie_name=cookie_name,
        database=accounts.collection.database.name,
        error_template=error_template,
        open_endpoints=endpoints,
        csrf_exempt=csrf_exempt,
        session_lasting=session_lasting,
    )

    def sign_in_page(errors: dict[str, str], username: str, status: int) -> Response:
        page = render_template(
            template, errors=errors, username=username, username_label=username_label
        )
        return make_response(page, status)

    def too_many_from_address(limit: RequestLimit) -> Response:
        return retry_later(sign_in_page({"username": TOO_MANY_FROM_ADDRESS}, "", 429), limit)

    def needs_second_factor(account: dict[str, Any]) -> str | None:
        """What the account must do before its session starts: "use" its second factor,
        "set_up" one its organisation requires, or nothing (None)."""
        if second_factors is None:
            return None
        if second_factors.is_set_up(account["_id"]):
            return "use"
        current = accounts.by_id(account["_id"])
        return "set_up" if current is not None and second_factor_required(current) else None

    @limiter.limit(attempts_per_address, methods=["POST"], on_breach=too_many_from_address)
    def sign_in() -> Response:
        if request.method != "POST":  # GET, or HEAD
            return sign_in_page({}, "", 200)
        typed = request.form.get("username", "")
        username = typed.strip().lower()
        try:
            account = accounts.check_password(username, request.form.get("password", ""))
        except LockedOut:
            return sign_in_page({"username": LOCKED_OUT}, "", 429)
        if account is None:
            return sign_in_page({"username": WRONG_PASSWORD}, typed, 401)
        next_step = needs_second_factor(account)
        if next_step is not None:
            password_checked(account["_id"], next_step)
            return redirect(url_for(f"{pages.name}.{SECOND_FACTOR_PAGES[next_step]}"))
        accounts.clear_attempts(username)
        begin_session(accounts, account["_id"])
        return redirect(url_for(home))

    add_page(app, pages, "/sign-in", "sign_in", sign_in, ["GET", "POST"])
    if second_factors is not None:
        checked = limiter.limit(
            attempts_per_address, methods=["POST"], on_breach=too_many_from_address
        )
        _add_second_factor(
            app, pages, checked, accounts, second_factors, second_factor_required, home
        )


def _add_second_factor(
    app: Flask,
    pages: Blueprint,
    limited: Callable[[Callable], Callable],
    accounts: Accounts,
    factors: SecondFactors,
    required: Callable[[dict[str, Any]], bool],
    home: str,
) -> None:
    """The pages between a right password and a session, for an account with a second
    factor (or that must set one up): the password check leaves a marker in the cookie
    session for PASSWORD_CHECKED_LASTING, and

    - /sign-in/second-factor takes an app's code or a recovery code (counted with the
      password attempts: backbone.second_factor.checked_code), then starts the session;
    - /second-factor/set-up shows a new secret (a QR code, and the text to type) and takes
      a code from the app to confirm it, then shows the recovery codes once. It serves the
      marker's account and a signed-in account setting one up of its own accord; either
      way every other session of the account ends, and this browser's starts anew.

    A signed-in account that must have a second factor and has none (its organisation
    required one since it signed in) is signed out: it gives its password again, then
    sets one up before any other page."""
    name = pages.name

    def second_factor() -> Response:
        account = _password_checked_for("use", accounts)
        if account is None:
            return redirect(url_for(f"{name}.sign_in"))
        if request.method != "POST":
            return no_store_page("familyties/second_factor.html", {}, 200)
        typed = request.form.get("code", "")
        if not normalised(typed):
            return no_store_page("familyties/second_factor.html", {"code": ENTER_CODE}, 400)
        try:
            right = checked_code(accounts, factors, account, typed)
        except LockedOut:
            session.pop(PASSWORD_CHECKED, None)
            return no_store_page("familyties/second_factor.html", {"code": LOCKED_OUT_CODES}, 429)
        if not right:
            return no_store_page("familyties/second_factor.html", {"code": WRONG_CODE}, 401)
        begin_session(accounts, account["_id"])
        return redirect(url_for(home))

    def set_up_second_factor() -> Response:
        account = g.caller or _password_checked_for("set_up", accounts)
        if account is None or factors.is_set_up(account["_id"]):
            # To change one, it is turned off first, with a code.
            return redirect(url_for(home if g.caller else f"{name}.sign_in"))
        # The secret shown is this browser's alone (see SecondFactors.pending_secret).
        visit = session.setdefault(SET_UP_VISIT, secrets.token_urlsafe(16))
        secret = factors.pending_secret(account["_id"], visit)
        link = authenticator_link(secret, account["username"], factors.issuer)
        shown = {"qr_code": qr_code_image(link), "secret": grouped(secret)}
        if request.method != "POST":
            return no_store_page("familyties/second_factor_set_up.html", {}, 200, **shown)
        typed = request.form.get("code", "")
        errors = {"code": ENTER_CODE if not normalised(typed) else WRONG_SET_UP_CODE}
        codes = factors.confirm(account["_id"], visit, typed) if is_app_code(typed) else None
        if codes is None:
            return no_store_page("familyties/second_factor_set_up.html", errors, 400, **shown)
        # Sessions started with the password alone end; this browser's starts anew.
        accounts.end_sessions(account["_id"])
        accounts.clear_attempts(account["username"])
        begin_session(accounts, account["_id"])
        g.caller = accounts.by_id(account["_id"])
        return no_store_page(
            "familyties/recovery_codes.html", {}, 200, codes=codes, next=url_for(home)
        )

    def second_factor_first() -> Response | None:
        """A session started with the password alone, of an account that must now have a
        second factor, ends: the password is asked again before one is set up, so a
        session taken over cannot enrol an app of its own."""
        caller = g.get("caller")
        if caller is None or request.endpoint == f"{name}.static" or not required(caller):
            return None
        if factors.is_set_up(caller["_id"]):
            return None
        accounts.end_session(session.get("token", ""))
        session.clear()
        return redirect(url_for(f"{name}.sign_in"))

    add_page(
        app,
        pages,
        "/sign-in/second-factor",
        "second_factor",
        limited(second_factor),
        ["GET", "POST"],
    )
    add_page(
        app,
        pages,
        "/second-factor/set-up",
        "set_up_second_factor",
        set_up_second_factor,
        ["GET", "POST"],
    )
    # Right after the check for a session (add_sessions'), before the pages' own.
    app.before_request_funcs.setdefault(name, []).insert(1, second_factor_first)


def password_checked(account_id: str, next_step: str) -> None:
    """Remember, in the cookie session (signed, so not to be forged), that the visitor
    gave the account's password just now, and what they must do next ("use" or "set_up"
    a second factor). No session starts before that is done."""
    session.clear()
    session[PASSWORD_CHECKED] = {
        "account_id": account_id,
        "next": next_step,
        "until": time.time() + PASSWORD_CHECKED_LASTING.total_seconds(),
    }


def _password_checked_for(next_step: str, accounts: Accounts) -> dict[str, Any] | None:
    """The account whose password was given for `next_step` lately, if it may still sign
    in."""
    marker = session.get(PASSWORD_CHECKED)
    if not marker or marker.get("next") != next_step or marker.get("until", 0) < time.time():
        return None
    return accounts.by_id(marker["account_id"])


def no_store_page(template: str, errors: dict[str, str], status: int, **values: Any) -> Response:
    response = make_response(render_template(template, errors=errors, **values), status)
    # A secret or recovery codes on the page: no copy kept by the browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


def add_sessions(
    app: Flask,
    pages: Blueprint,
    keeper: SessionKeeping,
    settings: Settings,
    *,
    cookie_name: str,
    database: str,
    error_template: str = "error.html",
    open_endpoints: Iterable[str] = (),
    csrf_exempt: Iterable[Blueprint] = (),
    session_lasting: timedelta = timedelta(hours=8),
) -> Limiter:
    """Sessions for `pages` (a blueprint registered on `app`), however people prove who
    they are: the session cookie, /sign-out, and the check that sends a visitor who is
    not signed in to the blueprint's `sign_in` page (which the caller adds, and which
    calls `begin_session`). `g.caller` is the account signed in.

    Every page of the blueprint but `open_endpoints`, the sign-in page and the
    blueprint's static files needs a session. Every POST of the app needs a CSRF token
    but those of `csrf_exempt` (the APIs, which take keys, not cookies); `error_template`
    renders a refused form (with `title` and `detail`). Answers the limiter, whose
    counts are kept in `database`, for the sign-in page's limits.
    """
    app.config.update(
        SECRET_KEY=settings.secret_key(),
        SESSION_COOKIE_NAME=cookie_name,
        SESSION_COOKIE_SECURE=True,  # browsers still send it to http://127.0.0.1 and localhost
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=session_lasting,
    )
    limiter = _limiter(app, database, settings)  # before the CSRF check: refusals count too
    csrf = CSRFProtect(app)
    for blueprint in csrf_exempt:
        csrf.exempt(blueprint)
    sign_in_endpoint = f"{pages.name}.sign_in"
    open_to_all = {sign_in_endpoint, f"{pages.name}.static", *open_endpoints}

    def sign_out() -> Response:
        if session.get("token"):
            keeper.end_session(session["token"])
        session.clear()
        return redirect(url_for(sign_in_endpoint))

    def require_sign_in() -> Response | None:
        g.caller = None
        token = session.get("token")
        if token:
            g.caller = keeper.signed_in(token)
            if g.caller is None:  # expired, signed out elsewhere, or the account revoked
                session.clear()
        if g.caller is None and request.endpoint not in open_to_all:
            return redirect(url_for(sign_in_endpoint))
        return None

    add_page(app, pages, "/sign-out", "sign_out", sign_out, ["POST"])
    app.before_request_funcs.setdefault(pages.name, []).insert(0, require_sign_in)
    app.register_error_handler(RateLimitExceeded, lambda limited: limited.get_response())

    @app.errorhandler(CSRFError)
    def refused_form(error: CSRFError) -> tuple[str, int]:
        page = render_template(
            error_template,
            errors={},
            title="This form has expired",
            detail="Go back, reload the page and try again.",
        )
        return page, 400

    return limiter


def add_page(
    app: Flask, pages: Blueprint, rule: str, name: str, view: Callable, methods: list[str]
) -> None:
    """A route added to `pages` by name after it is registered, as registering does, so
    its headers, error pages and templates apply to it: the blueprint object itself is
    shared by every app the process makes, and takes no routes once registered."""
    app.add_url_rule(
        f"{pages.url_prefix or ''}{rule}", f"{pages.name}.{name}", view, methods=methods
    )


def begin_session(keeper: SessionKeeping, account_id: str) -> None:
    """Sign the visitor in as `account_id`, in a new session."""
    session.clear()  # a new session for the signed-in person
    session["token"] = keeper.start_session(account_id, current_app.permanent_session_lifetime)
    session.permanent = True


def retry_later(page: Response, limit: RequestLimit) -> Response:
    """A page refused by a limit, telling when to try again."""
    page.headers["Retry-After"] = str(max(1, math.ceil(limit.reset_at - time.time())))
    return page


def _limiter(app: Flask, database: str, settings: Settings) -> Limiter:
    """Limits kept in `database` (a moving window: its MongoDB storage holds
    across processes), keyed by a keyed hash of the client's address, so the database
    never holds the address itself."""
    secret = app.config["SECRET_KEY"].encode()

    def address_key() -> str:
        address = client_address(
            request.remote_addr or "",
            request.headers.get("X-Forwarded-For", ""),
            settings.forwarded_allow_ips,
        )
        return hmac.new(secret, address.encode(), hashlib.sha256).hexdigest()

    limiter = Limiter(
        address_key,
        app=app,
        key_prefix=app.name,
        strategy="moving-window",
        storage_uri=settings.mongodb_uri,
        storage_options={
            "database_name": database,
            "window_collection_name": "rate_limit_windows",
            "counter_collection_name": "rate_limit_counters",
            "serverSelectionTimeoutMS": settings.mongodb_server_selection_timeout_ms,
        },
    )
    # Its client and TTL indexes are made now (waiting, as at start-up, for a database
    # still starting), not on first use: limits' storage would make them when garbage
    # collected if never used, even at exit.
    with pymongo.timeout(60):
        limiter.storage.check()
    return limiter


def client_address(peer: str, forwarded_for: str, trusted_proxies: str) -> str:
    """The client's address: the last one named in X-Forwarded-For when the peer is a
    trusted proxy (nginx sets the header to the address it was reached from), else the
    peer's. A client's own X-Forwarded-For, sent past no trusted proxy, is ignored."""
    named = forwarded_for.rsplit(",", 1)[-1].strip()
    return named if named and is_trusted_proxy(peer, trusted_proxies) else peer


def is_trusted_proxy(peer: str, trusted_proxies: str) -> bool:
    """Whether `peer` is among `trusted_proxies`: addresses or networks, comma separated,
    or "*" for any. As gunicorn reads FORWARDED_ALLOW_IPS, a peer with no address (on a
    UNIX socket, which only this machine reaches) is trusted."""
    allowed = [item.strip() for item in trusted_proxies.split(",") if item.strip()]
    if "*" in allowed or not peer:
        return True
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for item in allowed:
        try:
            if address in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False
