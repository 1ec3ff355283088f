"""Staff's pages: signing in with an emailed link (staff_sign_in.py), choosing how to get
each optional kind of message, previewing every template with synthetic values, and, for
managers, the recent messages and failures. Server-rendered with GOV.UK Frontend."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter, RequestLimit
from marshmallow import ValidationError, validate
from werkzeug.exceptions import HTTPException

from backbone.clock import UK
from backbone.pages import add_govuk_pages
from backbone.settings import Settings
from backbone.sign_in import add_page, add_sessions, begin_session, retry_later
from services.notifications import templates
from services.notifications.channels import EmailChannel
from services.notifications.kinds import CHOICES, KINDS, MANAGER, optional_kinds
from services.notifications.repository import DELIVERED, FAILED, QUEUED, SENDING, Store
from services.notifications.staff_sign_in import LINK_LASTING, StaffSignIn

log = logging.getLogger(__name__)

pages = Blueprint("pages", __name__, template_folder="page_templates")
ENTER_EMAIL = "Enter your work email address, like name@example.org"
TOO_MANY_FROM_ADDRESS = "Too many requests from this address: wait a minute and try again"
# The HTML part of an email, shown in a frame of the preview page: its inline styles
# allowed, nothing else, and no script even if a template held one.
EMAIL_PREVIEW_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"
)


def add_pages(
    app: Flask,
    settings: Settings,
    store: Store,
    sign_in: StaffSignIn,
    api: Blueprint,
    checked: dict[str, templates.Template],
) -> None:
    """The pages, behind signing in with an emailed link; the `api` takes partners' keys,
    not cookies, so needs no CSRF token. `checked`: the message templates, checked."""
    add_govuk_pages(app, pages)
    app.register_blueprint(pages)
    limiter = add_sessions(
        app,
        pages,
        sign_in,
        settings,
        cookie_name="familyties_notifications",
        database=store.db.name,
        open_endpoints=["pages.use_link"],
        csrf_exempt=[api],
    )
    app.extensions["pages"] = {
        "store": store,
        "sign_in": sign_in,
        "email": EmailChannel(settings),
        "public_url": settings.public_url("notifications"),
        "templates": checked,
    }
    _add_sign_in_pages(app, limiter)


def _the(name: str) -> Any:
    return current_app.extensions["pages"][name]


def _is_manager() -> bool:
    return MANAGER in (g.get("caller") or {}).get("roles", [])


STATUS_COLOURS = {
    DELIVERED: "govuk-tag--green",
    FAILED: "govuk-tag--red",
    QUEUED: "govuk-tag--yellow",
}


@pages.app_context_processor
def _helpers() -> dict:
    return {
        "is_manager": _is_manager,
        "KINDS": KINDS,
        "CHOICES": CHOICES,
        "STATUS_COLOURS": STATUS_COLOURS,
    }


@pages.app_template_filter()
def uk_time(moment: datetime) -> str:
    """A time as people here read it: UK time, to the minute (the database's are UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UK).strftime("%-d %b %Y, %H:%M")


@pages.app_template_filter()
def choice_item(choice: tuple[str, str], current: str) -> dict[str, Any]:
    """One of CHOICES as a GOV.UK radio, checked if it is `current`."""
    value, text = choice
    return {"value": value, "text": text, "checked": value == current}


@pages.errorhandler(403)
@pages.errorhandler(404)
def page_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 404
    title = "You cannot see this" if status == 403 else "Page not found"
    detail = "This page is for managers." if status == 403 else "Check the address."
    return render_template("error.html", errors={}, title=title, detail=detail), status


# ---- signing in with an emailed link ------------------------------------------------------


def _add_sign_in_pages(app: Flask, limiter: Limiter) -> None:
    def too_many(limit: RequestLimit) -> Response:
        page = render_template("sign_in.html", errors={"email": TOO_MANY_FROM_ADDRESS}, email="")
        return retry_later(make_response(page, 429), limit)

    # Counted per client address across processes, as password sign-ins are; each
    # person also gets at most LINKS_PER_PERSON links at a time (staff_sign_in.py).
    sign_in = limiter.limit("10 per minute", methods=["POST"], on_breach=too_many)(_sign_in)
    add_page(app, pages, "/sign-in", "sign_in", sign_in, ["GET", "POST"])


def _sign_in() -> ResponseReturnValue:
    if request.method != "POST":
        return render_template("sign_in.html", errors={}, email="")
    email = request.form.get("email", "").strip()
    try:
        validate.Email()(email)
    except ValidationError:
        return render_template("sign_in.html", errors={"email": ENTER_EMAIL}, email=email), 400
    found = _the("sign_in").new_link(email)
    if found is not None:
        person, token = found
        _send_link(person, token)
    # The same page whether or not the address is known: it tells nobody who works here.
    return render_template("check_email.html", errors={}, email=email)


def _send_link(person: dict[str, Any], token: str) -> None:
    """Email the link from a thread of its own: the answer comes as fast whether or not an
    email goes, so its timing tells nobody who works here either."""
    link = _the("public_url") + url_for("pages.use_link", token=token)
    minutes = LINK_LASTING.seconds // 60
    rendered = _the("templates")["sign_in_link"].render({"sign_in_link": link, "minutes": minutes})
    message = {
        "_id": str(uuid.uuid4()),
        "address": person["email"],
        "email": {"subject": rendered.subject, "text": rendered.text, "html": rendered.html},
    }
    channel: EmailChannel = _the("email")

    def send() -> None:
        outcome = channel.send(message)
        channel.close()  # sent rarely: no connection kept open
        if not outcome.delivered:  # the person sees no email, and can ask again
            log.warning(
                "sign-in link not sent", extra={"staff_id": person["_id"], "error": outcome.error}
            )

    threading.Thread(target=send, name="sign-in-link", daemon=True).start()


@pages.route("/sign-in/<token>", methods=["GET", "POST"])
def use_link(token: str) -> ResponseReturnValue:
    sign_in: StaffSignIn = _the("sign_in")
    if request.method != "POST":  # a mail scanner's fetch does not use the link up
        works = sign_in.link_works(token)
        return render_template("use_link.html", errors={}, works=works), 200 if works else 410
    staff_id = sign_in.use_link(token)
    if staff_id is None:
        return render_template("use_link.html", errors={}, works=False), 410
    begin_session(sign_in, staff_id)
    return redirect(url_for("pages.home"))


# ---- the pages ----------------------------------------------------------------------------


@pages.route("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("pages.messages" if _is_manager() else "pages.preferences"))


@pages.route("/messages")
def messages() -> ResponseReturnValue:
    if not _is_manager():
        abort(403)
    store: Store = _the("store")
    return render_template(
        "messages.html",
        errors={},
        failed=store.recent({"status": FAILED}, 20),
        retrying=store.recent(
            {"status": {"$in": [QUEUED, SENDING]}, "attempts.0": {"$exists": True}}, 20
        ),
        recent=store.recent({}, 50),
    )


@pages.route("/preferences", methods=["GET", "POST"])
def preferences() -> ResponseReturnValue:
    caller = g.caller
    kinds = optional_kinds(caller["roles"])
    chosen = {kind.name: caller.get("preferences", {}).get(kind.name, "each") for kind in kinds}
    errors: dict[str, str] = {}
    saved = False
    if request.method == "POST":
        chosen, errors = read_choices(request.form, [kind.name for kind in kinds])
        if not errors:
            _the("store").set_preferences(
                caller["_id"], {**caller.get("preferences", {}), **chosen}
            )
            saved = True
    page = render_template(
        "preferences.html",
        errors=errors,
        kinds=kinds,
        chosen=chosen,
        saved=saved,
        always=[k for k in KINDS.values() if k.audience in caller["roles"] and not k.optional],
    )
    return page, 400 if errors else 200


def read_choices(form: Any, kinds: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The choice made for each optional kind, and an error for each left unanswered or
    answered with what is not a choice."""
    chosen = {kind: form.get(kind, "") for kind in kinds}
    errors = {
        kind: f"Choose how to get “{KINDS[kind].summary}”"
        for kind, value in chosen.items()
        if value not in CHOICES
    }
    return chosen, errors


@pages.route("/templates")
def template_list() -> ResponseReturnValue:
    return render_template("templates_list.html", errors={})


@pages.route("/templates/<name>")
def template_preview(name: str) -> ResponseReturnValue:
    rendered = _preview(name)
    return render_template("template_preview.html", errors={}, kind=KINDS[name], rendered=rendered)


@pages.route("/templates/<name>/email.html")
def template_email(name: str) -> ResponseReturnValue:
    response = make_response(_preview(name).html)
    response.headers["Content-Security-Policy"] = EMAIL_PREVIEW_POLICY
    return response


def _preview(name: str) -> templates.Rendered:
    if name not in KINDS:
        abort(404)
    return _the("templates")[name].render(templates.sample_values(KINDS[name]))
