"""The coordinators' web pages: server-rendered with GOV.UK Frontend and MoJ Frontend,
usable without JavaScript. Every page goes through the same operations (and so the same
role checks and audit trail) as the JSON API; every form carries a CSRF token.

Each form has one WTForms class (services/casework/forms.py) and one view. Views only
raise: the service layer's refusals become pages in `refused` below."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from pymongo.errors import PyMongoError
from werkzeug.exceptions import HTTPException

from backbone import mongo
from backbone.errors import Conflict, Forbidden, NotFound, Refused
from backbone.events.vocabulary import LOCAL_AUTHORITIES, NEEDS
from services.casework import forms, schemas
from services.casework.operations import Casework
from services.casework.page_context import template_context

pages = Blueprint(
    "pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/casework",
)
CHANGED_MEANWHILE = "Someone changed this case meanwhile: try again."


def _casework() -> Casework:
    return current_app.extensions["casework"]


pages.app_context_processor(template_context)


# ---- what the pages answer instead of a page ----------------------------------------


def _error_page(status: int) -> ResponseReturnValue:
    title = "You cannot do this" if status == 403 else "Page not found"
    detail = "If you followed a link, it may be to a case that is not yours."
    return render_template("error.html", errors={}, title=title, detail=detail), status


@pages.errorhandler(403)
@pages.errorhandler(404)
def page_error(error: HTTPException) -> ResponseReturnValue:
    return _error_page(error.code or 404)


@pages.errorhandler(Refused)
def refused(refusal: Refused) -> ResponseReturnValue:
    """A case not the caller's is not found and a role they lack is forbidden; anything
    else refused shows the page again (the form, or the case page) with the GOV.UK error
    summary naming each wrong answer, or saying what is wrong."""
    if isinstance(refusal, NotFound):
        return _error_page(404)
    if isinstance(refusal, Forbidden):
        return _error_page(403)
    words = CHANGED_MEANWHILE if isinstance(refusal, Conflict) else refusal.detail
    errors = refusal.errors or [{"pointer": "", "detail": words}]
    page_with = g.pop("page_again", None)
    if page_with is None:
        page = render_template(
            "error.html", errors={}, title="Sorry, this cannot be done", detail=words
        )
        return page, refusal.status
    try:
        return page_with(errors), refusal.status
    except (NotFound, Forbidden) as not_theirs:  # a bad button on someone else's case
        return refused(not_theirs)


def _again_if_refused(page_with: Callable[[list[dict[str, str]]], str]) -> None:
    """What to show if the service layer refuses what this request asks: `page_with`
    renders the page again with the refusal's errors ({pointer, detail})."""
    g.page_again = page_with


@pages.errorhandler(PyMongoError)
def database_unavailable(error: PyMongoError) -> ResponseReturnValue:
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
def home() -> ResponseReturnValue:
    return redirect(url_for("pages.my_cases"))


@pages.get("/cases")
def my_cases() -> ResponseReturnValue:
    """My cases (every case for a manager), filtered by status, area, need and wait."""
    chosen = {name: value for name, value in request.args.items() if value}
    try:
        filters = schemas.CaseQuerySchema().load(chosen)
    except ValidationError:  # a filter changed by hand in the address: show every case
        filters, chosen = {}, {}
    found = _casework().list_cases(g.caller, filters)
    return render_template("cases.html", cases=found, filters=chosen, errors={})


@pages.get("/cases/<case_id>")
def case_page(case_id: str) -> ResponseReturnValue:
    case = _casework().read(g.caller, case_id)
    return render_template("case.html", case=case, errors={})


@pages.get("/cases/<case_id>/audit")
def audit(case_id: str) -> ResponseReturnValue:
    trail = _casework().audit_trail(g.caller, case_id)
    return render_template("audit.html", case_id=case_id, trail=trail, errors={})


def _to_case(case_id: str) -> ResponseReturnValue:
    return redirect(url_for("pages.case_page", case_id=case_id))


# ---- forms: shown, then sent; the JSON API's schema judges what is sent ----------------


def _form_page(form: forms.CaseForm, case: dict[str, Any], **shown: Any) -> Callable[[], str]:
    """The form's page. If what the form sends is refused, the page is shown again with
    each message on the answer it names."""

    def page() -> str:
        return render_template(
            form.template,
            form=form,
            case=case,
            title=form.title,
            errors=form.error_summary(),
            **shown,
        )

    def page_with(errors: list[dict[str, str]]) -> str:
        form.show(errors)
        return page()

    _again_if_refused(page_with)
    return page


@pages.route("/cases/<case_id>/allocate", methods=["GET", "POST"])
def allocate(case_id: str) -> ResponseReturnValue:
    coordinators = _casework().coordinators(g.caller)  # only a manager, before the case
    case = _casework().read(g.caller, case_id, "allocate form")
    form = forms.AllocateForm(case, coordinators)
    page = _form_page(form, case)
    if form.is_submitted():
        _casework().allocate(g.caller, case_id, form.accepted()["coordinator_id"])
        return _to_case(case_id)
    return page()


@pages.route("/cases/<case_id>/contact", methods=["GET", "POST"])
def record_contact(case_id: str) -> ResponseReturnValue:
    case = _casework().read(g.caller, case_id, "contact form")
    form = forms.ContactForm(case)
    page = _form_page(form, case)
    if form.is_submitted():
        _casework().record_contact(g.caller, case_id, form.accepted())
        return _to_case(case_id)
    return page()


@pages.route("/cases/<case_id>/needs", methods=["GET", "POST"])
def assess_needs(case_id: str) -> ResponseReturnValue:
    case = _casework().read(g.caller, case_id, "needs form")
    form = forms.NeedsForm(case)
    page = _form_page(form, case)
    if form.is_submitted():
        _casework().assess_needs(g.caller, case_id, form.accepted()["needs"])
        return _to_case(case_id)
    return page()


@pages.route("/cases/<case_id>/signpost", methods=["GET", "POST"])
def signpost(case_id: str) -> ResponseReturnValue:
    """The directory searched by need and area (the family's own, until another is
    chosen), and the family signposted to one of the services found."""
    case = _casework().read(g.caller, case_id, "signpost form")
    need = request.args.get("need", "")
    need = need if need in NEEDS else ""
    area = request.args.get("area", case["local_authority"])
    area = area if area in LOCAL_AUTHORITIES else ""
    form = forms.SignpostForm(_casework().signpost_choices(need or None, area or None))
    page = _form_page(form, case, need=need, area=area)
    if form.is_submitted():
        _casework().signpost(g.caller, case_id, form.accepted())
        return _to_case(case_id)
    return page()


@pages.route("/cases/<case_id>/decline", methods=["GET", "POST"])
def decline(case_id: str) -> ResponseReturnValue:
    case = _casework().read(g.caller, case_id, "decline form")
    form = forms.DeclineForm()
    page = _form_page(form, case)
    if form.is_submitted():
        _casework().decline(g.caller, case_id, form.accepted()["reason_for_referrer"])
        return _to_case(case_id)
    return page()


@pages.route("/cases/<case_id>/close", methods=["GET", "POST"])
def close(case_id: str) -> ResponseReturnValue:
    case = _casework().read(g.caller, case_id, "close form")
    form = forms.CloseForm()
    page = _form_page(form, case)
    if form.is_submitted():
        closing = form.accepted()
        _casework().close(g.caller, case_id, closing["outcomes"], closing["outcome_for_referrer"])
        return _to_case(case_id)
    return page()


# ---- the case page's buttons: done, or the case page again saying why not -------------


def _case_page_again_if_refused(case_id: str) -> None:
    def page_with(errors: list[dict[str, str]]) -> str:
        case = _casework().read(g.caller, case_id)
        return render_template(
            "case.html", case=case, errors={forms.WHOLE_PAGE: errors[0]["detail"]}
        )

    _again_if_refused(page_with)


@pages.post("/cases/<case_id>/signposts/<signpost_id>/outcome")
def signpost_outcome(case_id: str, signpost_id: str) -> ResponseReturnValue:
    _case_page_again_if_refused(case_id)
    outcome = forms.SignpostOutcomeForm().accepted()["outcome"]
    _casework().record_signpost_outcome(g.caller, case_id, signpost_id, outcome)
    return _to_case(case_id)


@pages.post("/cases/<case_id>/support")
def support(case_id: str) -> ResponseReturnValue:
    _case_page_again_if_refused(case_id)
    ongoing = forms.SupportForm().accepted()["ongoing"]
    _casework().set_support(g.caller, case_id, ongoing)
    return _to_case(case_id)


@pages.post("/cases/<case_id>/reopen")
def reopen(case_id: str) -> ResponseReturnValue:
    _case_page_again_if_refused(case_id)
    _casework().reopen(g.caller, case_id)
    return _to_case(case_id)
