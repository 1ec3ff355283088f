"""The coordinators' web pages: server-rendered with GOV.UK Frontend and MoJ Frontend,
usable without JavaScript. Every page goes through the same operations (and so the same
role checks and audit trail) as the JSON API; every form carries a CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from marshmallow import Schema, ValidationError
from pymongo.errors import PyMongoError

from backbone import mongo
from backbone.clock import UK
from backbone.errors import Conflict, Forbidden, NotAllowed, NotFound
from backbone.events import vocabulary as v
from backbone.events.case import (
    CLOSING_OUTCOMES,
    CONTACT_METHODS,
    SIGNPOST_METHODS,
    SIGNPOST_OUTCOMES,
)
from services.casework import schemas
from services.casework.domain import STATUSES
from services.casework.operations import Casework, is_manager

pages = Blueprint(
    "pages", __name__, template_folder="templates", static_folder="static",
    static_url_path="/static/casework",
)  # fmt: skip
TIMELINE_TITLES = {
    "CaseOpened": "Referral received", "CaseAllocated": "Allocated",
    "ContactRecorded": "Contact", "NeedsAssessed": "Needs recorded",
    "SignpostMade": "Signposted", "SignpostOutcomeRecorded": "Signpost outcome",
    "SupportStarted": "One-to-one support began", "SupportEnded": "One-to-one support ended",
    "CaseDeclined": "Declined", "CaseClosed": "Closed", "CaseReopened": "Reopened",
}  # fmt: skip
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; script-src 'none'; object-src 'none'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _casework() -> Casework:
    return current_app.extensions["casework"]


@pages.app_context_processor
def vocabularies() -> dict[str, Any]:
    return {"STATUSES": STATUSES, "NEEDS": v.NEEDS, "LOCAL_AUTHORITIES": v.LOCAL_AUTHORITIES,
            "CONTACT_METHODS": CONTACT_METHODS, "SIGNPOST_METHODS": SIGNPOST_METHODS,
            "SIGNPOST_OUTCOMES": SIGNPOST_OUTCOMES, "CLOSING_OUTCOMES": CLOSING_OUTCOMES,
            "RELATIONSHIPS": v.RELATIONSHIPS, "ESTABLISHMENTS": v.ESTABLISHMENTS,
            "is_manager": is_manager, "local_time": local_time,
            "TIMELINE_TITLES": TIMELINE_TITLES}  # fmt: skip


def local_time(value: datetime | str | None) -> str:
    """A time as people here read it: '2 November 2026, 9:05am', in UK time."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(UK)
    return f"{local.day} {local:%B %Y}, {local.hour % 12 or 12}:{local:%M}{local:%p}".replace(
        "AM", "am"
    ).replace("PM", "pm")


@pages.after_request
def page_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    # Over HTTPS the CSRF check also wants a same-origin Referer; other sites get none.
    response.headers["Referrer-Policy"] = "same-origin"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


@pages.errorhandler(403)
@pages.errorhandler(404)
def page_error(error):
    title = "You cannot do this" if error.code == 403 else "Page not found"
    detail = "If you followed a link, it may be to a case that is not yours."
    return render_template("error.html", errors={}, title=title, detail=detail), error.code


@pages.errorhandler(PyMongoError)
def database_unavailable(error: PyMongoError):
    """The page's own words for what the API answers as a 503 problem."""
    if not mongo.is_unavailable(error):
        raise error
    page = render_template(
        "error.html",
        errors={},
        title="Sorry, there is a problem",
        detail="Case records cannot be reached just now. Try again in a few minutes.",
    )
    return page, 503, {"Retry-After": "5"}


# ---- cases -----------------------------------------------------------------------------


@pages.get("/")
def home():
    return redirect(url_for("pages.my_cases"))


@pages.get("/cases")
def my_cases():
    """My cases (every case for a manager), filtered by status, area, need and wait."""
    raw = {k: val for k, val in request.args.items() if val}
    try:
        filters = schemas.CaseQuerySchema().load(raw)
    except ValidationError:
        filters, raw = {}, {}
    found = _casework().list_cases(g.caller, filters)
    return render_template("cases.html", cases=found, filters=raw)


@pages.get("/cases/<case_id>")
def case_page(case_id: str):
    case = _operation(_casework().read, case_id)
    return render_template("case.html", case=case, errors={})


def _operation(operation, *args):
    """An operation for the signed-in person; a case not theirs is a 404."""
    try:
        return operation(g.caller, *args)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)


# ---- forms -------------------------------------------------------------------------------

FORMS: dict[str, dict[str, Any]] = {
    "allocate": {"title": "Allocate the case", "schema": schemas.AllocationSchema},
    "contact": {"title": "Record a contact", "schema": schemas.ContactSchema},
    "needs": {"title": "Record needs", "schema": schemas.NeedsSchema},
    "signpost": {"title": "Signpost to a service", "schema": schemas.SignpostSchema},
    "decline": {"title": "Decline the referral", "schema": schemas.DeclineSchema},
    "close": {"title": "Close the case", "schema": schemas.CloseSchema},
}


@pages.route("/cases/<case_id>/<form>", methods=["GET", "POST"])
def case_form(case_id: str, form: str):
    if form not in FORMS:
        abort(404)
    if form == "allocate" and not is_manager(g.caller):
        abort(403)
    case = _operation(_casework().read, case_id, f"{form} form")
    errors: dict[str, str] = {}
    values = request.form if request.method == "POST" else {}
    if request.method == "POST":
        try:
            body = _body_of(form, request.form, case)
            if form == "contact" and body["happened_at"] is None:
                raise FormErrors({"happened_at": "Enter a real date and a time, like 27 3 2026 "
                                                 "and 14:30."})  # fmt: skip
            _apply(form, case_id, _load(FORMS[form]["schema"], body))
            return redirect(url_for("pages.case_page", case_id=case_id))
        except FormErrors as failed:
            errors = failed.errors
    return render_template(f"form_{form}.html", case=case, errors=errors, values=values,
                           title=FORMS[form]["title"], **_extras(form, case)), (
        422 if errors else 200
    )  # fmt: skip


@pages.post("/cases/<case_id>/signposts/<signpost_id>/outcome")
def signpost_outcome(case_id: str, signpost_id: str):
    return _button(case_id, lambda staff: _casework().record_signpost_outcome(
        staff, case_id, signpost_id, request.form.get("outcome", "")))  # fmt: skip


@pages.post("/cases/<case_id>/support")
def support(case_id: str):
    ongoing = request.form.get("ongoing") == "true"
    return _button(case_id, lambda staff: _casework().set_support(staff, case_id, ongoing))


@pages.post("/cases/<case_id>/reopen")
def reopen(case_id: str):
    return _button(case_id, lambda staff: _casework().reopen(staff, case_id))


@pages.get("/cases/<case_id>/audit")
def audit(case_id: str):
    trail = _operation(_casework().audit_trail, case_id)
    case = _casework().cases.get(case_id)
    return render_template("audit.html", case=case, trail=trail, errors={})


def _button(case_id: str, change):
    """A one-button change from the case page: done, or the page again with the reason."""
    try:
        _operation(change)
    except NotAllowed as refused:
        return _case_page_with(case_id, refused.detail)
    except Conflict:
        return _case_page_with(case_id, "Someone changed this case meanwhile: try again.")
    return redirect(url_for("pages.case_page", case_id=case_id))


def _case_page_with(case_id: str, problem: str):
    case = _operation(_casework().read, case_id)
    return render_template("case.html", case=case, errors={"actions": problem}), 422


class FormErrors(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("invalid form")
        self.errors = errors


def _load(schema: type[Schema], body: dict[str, Any]) -> dict[str, Any]:
    try:
        return schema().load(body)
    except ValidationError as error:
        raise FormErrors(_first_messages(error.messages)) from None


def _first_messages(messages: dict, prefix: str = "") -> dict[str, str]:
    """{field id: its first message}: what the GOV.UK error summary lists."""
    found: dict[str, str] = {}
    for key, value in messages.items():
        name = prefix or str(key)
        if isinstance(value, dict):
            for field, message in _first_messages(value, name).items():
                found.setdefault(field, message)
        elif isinstance(value, list) and value:
            first = value[0]
            found.setdefault(name, first if isinstance(first, str) else str(first))
    return found


def _body_of(form: str, data, case: dict) -> dict[str, Any]:
    """The form's fields in the shape the API's schemas take."""
    if form == "contact":
        return {
            "method": data.get("method", ""),
            "happened_at": _when(data),
            "duration_minutes": _whole_number(data.get("duration_minutes", "")),
            "needs_addressed": data.getlist("needs_addressed"),
            **({"notes": data["notes"]} if data.get("notes", "").strip() else {}),
        }
    if form == "needs":
        return {
            "needs": [{"need": n, "status": "identified"} for n in data.getlist("identified")]
            + [{"need": n, "status": "addressed"} for n in data.getlist("addressed")]
        }
    if form == "signpost":
        return {
            "service_id": data.get("service_id", ""),
            "method": data.get("method", ""),
            "personal_details_shared": data.get("personal_details_shared") == "yes",
        }
    if form == "close":
        return {
            "outcomes": data.getlist("outcomes"),
            "outcome_for_referrer": data.get("outcome_for_referrer", ""),
        }
    return {k: val for k, val in data.items() if k != "csrf_token"}  # fmt: skip


def _whole_number(typed: str) -> int | str | None:
    """A number typed in a form, as the JSON number the schema takes; anything else as
    typed, for the schema to refuse with its own words."""
    typed = typed.strip()
    return int(typed) if typed.isascii() and typed.isdigit() else typed or None


def _when(data) -> str | None:
    """The GOV.UK date input and a time, in UK time, as ISO 8601; None if not a time."""
    try:
        day, month, year = (int(data.get(f"happened_at-{p}", "")) for p in ("day", "month", "year"))
        hour, minute = (int(x) for x in data.get("happened_at-time", "").split(":"))
        return datetime(year, month, day, hour, minute, tzinfo=UK).isoformat()
    except (ValueError, OverflowError):
        return None


def _apply(form: str, case_id: str, body: dict[str, Any]) -> None:
    casework = _casework()
    operations = {
        "allocate": lambda s: casework.allocate(s, case_id, body["coordinator_id"]),
        "contact": lambda s: casework.record_contact(s, case_id, body),
        "needs": lambda s: casework.assess_needs(s, case_id, body["needs"]),
        "signpost": lambda s: casework.signpost(s, case_id, body),
        "decline": lambda s: casework.decline(s, case_id, body["reason_for_referrer"]),
        "close": lambda s: casework.close(s, case_id, body["outcomes"],
                                          body["outcome_for_referrer"]),
    }  # fmt: skip
    try:
        _operation(operations[form])
    except NotAllowed as refused:
        field = (refused.field or "").strip("/").split("/")[0] or "actions"
        raise FormErrors({field: refused.detail}) from None
    except Conflict:
        raise FormErrors({"actions": "Someone changed this case meanwhile: try again."}) from None


def _extras(form: str, case: dict) -> dict[str, Any]:
    """What a form shows besides the case: coordinators, or services to signpost to."""
    if form == "allocate":
        return {"coordinators": [(c["_id"], c["name"]) for c in _casework().staff.coordinators()]}
    if form in ("contact", "needs"):
        return {"case_needs": [(code, v.NEEDS[code]) for code in case["needs"]],
                "other_needs": [(c, n) for c, n in v.NEEDS.items() if c not in case["needs"]],
                "unaddressed": [(code, v.NEEDS[code]) for code, state in case["needs"].items()
                                if state["status"] != "addressed"]}  # fmt: skip
    if form == "signpost":
        need = request.args.get("need", "")
        need = need if need in v.NEEDS else ""
        area = request.args.get("area", case["local_authority"])
        area = area if area in v.LOCAL_AUTHORITIES else ""
        services = _casework().signpost_choices(need or None, area or None)
        choices = [
            (
                s["_id"],
                f"{s['name']} ({s['organization_name']}; "
                f"{', '.join(s['areas'])}; {', '.join(s['phones'])})",
            )
            for s in services
        ]
        return {"services": choices, "need": need, "area": area,
                "consent": case["referral"]["consent"]["share_with_agencies"]}  # fmt: skip
    return {}
