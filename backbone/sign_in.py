"""Signing in to a service's web pages: the sign-in and sign-out pages, the session cookie,
CSRF tokens on every form, a limit on sign-in attempts per client address, and the
check that sends a visitor who is not signed in to sign in. `g.caller` is the account
signed in, as it is the key holder for an API."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import time
from collections.abc import Callable, Iterable
from datetime import timedelta

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
from backbone.sessions import SessionKeeping
from backbone.settings import Settings

WRONG_PASSWORD = "Enter a correct username and password"
LOCKED_OUT = f"Too many wrong passwords: try again in {LOCKOUT // timedelta(minutes=1)} minutes"
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
) -> None:
    """Put `pages` (a blueprint registered on `app`) behind signing in as one of
    `accounts` with a username and password, at /sign-in under the blueprint's prefix.

    Signed in, a visitor goes to `home` (an endpoint). `template` renders the sign-in
    form (with `errors` and `username`). A client address may try `attempts_per_address`
    sign-ins, counted across processes in the accounts' database. The rest is
    `add_sessions`'.
    """
    limiter = add_sessions(
        app,
        pages,
        accounts,
        settings,
        cookie_name=cookie_name,
        database=accounts.collection.database.name,
        error_template=error_template,
        open_endpoints=open_endpoints,
        csrf_exempt=csrf_exempt,
        session_lasting=session_lasting,
    )

    def sign_in_page(errors: dict[str, str], username: str, status: int) -> Response:
        page = render_template(template, errors=errors, username=username)
        return make_response(page, status)

    def too_many_from_address(limit: RequestLimit) -> Response:
        return retry_later(sign_in_page({"username": TOO_MANY_FROM_ADDRESS}, "", 429), limit)

    @limiter.limit(attempts_per_address, methods=["POST"], on_breach=too_many_from_address)
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
        begin_session(accounts, account["_id"])
        return redirect(url_for(home))

    add_page(app, pages, "/sign-in", "sign_in", sign_in, ["GET", "POST"])


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
