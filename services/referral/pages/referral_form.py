"""Refer a family: a question page per topic (services/referral/referral_form.py says
which, and judges their answers by the API's schema), "Check your answers", and a
confirmation with the reference. Answers are kept as a draft of the signed-in user's for
7 days (services/referral/drafts.py); a page's Continue saves its answers only when they
are valid. Sending goes through the same Intake.receive as the API, with the draft's id
as the Idempotency-Key, so pressing "Send" twice makes one referral."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (
    current_app,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from backbone.clock import UK
from backbone.errors import NotFound
from services.referral import form_questions as questions
from services.referral import referral_form as form
from services.referral.drafts import Drafts
from services.referral.operations import IdempotencyKeyReused, Intake
from services.referral.pages.blueprint import pages

REFUSED = 422  # as the API answers a referral with invalid fields
SENT_BEFORE = (
    "This referral was already sent, before the latest change: find it in your "
    "organisation's referrals, and delete this draft."
)


def _drafts() -> Drafts:
    return current_app.extensions["drafts"]


def _intake() -> Intake:
    return current_app.extensions["intake"]


def _page(slug: str) -> questions.Page:
    page = questions.BY_SLUG.get(slug)
    if page is None:
        raise NotFound("No such question.")
    return page


def _local(moment: datetime) -> str:
    return f"{moment.astimezone(UK):%-d %B %Y at %-I:%M%p}".replace("AM", "am").replace("PM", "pm")


def _sent(draft: dict[str, Any]) -> ResponseReturnValue:
    return redirect(url_for("pages.referral_sent", referral_id=draft["referral_id"]))


@pages.get("/referrals/new")
def start_referral() -> ResponseReturnValue:
    """The start page: what the form asks, consent first."""
    drafts = _drafts().mine(g.caller)
    return render_template("form_start.html", errors={}, drafts=drafts, pages=questions.PAGES)


@pages.get("/drafts")
def drafts() -> ResponseReturnValue:
    """The user's referrals in progress, each with when it was last changed and when it
    will be deleted."""
    found = [
        {
            "draft": draft,
            "family_member": (draft["answers"].get("family_member") or {}).get("name"),
            "saved": _local(draft["saved_at"]),
            "deleted": _local(draft["expires_at"]),
            "next": form.next_page(draft["pages_done"]),
        }
        for draft in _drafts().mine(g.caller)
    ]
    return render_template(
        "form_drafts.html", errors={}, found=found, notices=get_flashed_messages()
    )


@pages.post("/drafts")
def new_draft() -> ResponseReturnValue:
    draft = _drafts().start(g.caller)
    return redirect(url_for("pages.question", draft_id=draft["_id"], slug=questions.PAGES[0].slug))


@pages.route("/drafts/<draft_id>/delete", methods=["GET", "POST"])
def delete_draft(draft_id: str) -> ResponseReturnValue:
    """Asks first: a draft deleted is the family's answers gone for good."""
    if request.method != "POST":
        draft = _drafts().unsent(g.caller, draft_id)
        family_member = (draft["answers"].get("family_member") or {}).get("name")
        return render_template("form_delete.html", errors={}, family_member=family_member)
    _drafts().delete(g.caller, draft_id)
    flash("The draft is deleted.")
    return redirect(url_for("pages.drafts"))


@pages.route("/drafts/<draft_id>/<slug>", methods=["GET", "POST"])
def question(draft_id: str, slug: str) -> ResponseReturnValue:
    """A question page. Continue saves its answers if they are valid and goes on (back to
    "Check your answers" when changing an answer, or once every page is answered);
    otherwise the page again, with the GOV.UK error summary, and nothing saved."""
    page = _page(slug)
    draft = _drafts().get(g.caller, draft_id)
    if "referral_id" in draft:
        return _sent(draft)
    changing = request.args.get("change") == "yes"
    if request.method == "GET":
        values = form.form_values(page, draft["answers"])
        return _question_page(draft, page, values, {}, changing)

    checked = form.check_page(page, draft["answers"], request.form, g.caller)
    if checked.errors:
        values = form.posted_values(page, request.form)
        return _question_page(draft, page, values, checked.errors, changing), REFUSED
    _drafts().save_page(g.caller, draft_id, page.slug, checked.answers)
    following = form.next_page([*draft["pages_done"], page.slug])
    if changing or following is None:
        return redirect(url_for("pages.check_answers", draft_id=draft_id))
    return redirect(url_for("pages.question", draft_id=draft_id, slug=following.slug))


def _question_page(
    draft: dict[str, Any],
    page: questions.Page,
    values: dict[str, Any],
    errors: dict[str, str],
    changing: bool,
) -> str:
    index = questions.PAGES.index(page)
    if changing:
        back = url_for("pages.check_answers", draft_id=draft["_id"])
    elif index:
        back = url_for(
            "pages.question", draft_id=draft["_id"], slug=questions.PAGES[index - 1].slug
        )
    else:
        back = url_for("pages.drafts")
    return render_template(
        "form_question.html",
        errors=form.error_summary(page, errors),
        field_errors=errors,
        page=page,
        values=values,
        items={f.name: _items(f, values[f.name]) for f in page.fields if f.choices},
        number=index + 1,
        of=len(questions.PAGES),
        back=back,
        action=url_for(
            "pages.question",
            draft_id=draft["_id"],
            slug=page.slug,
            **({"change": "yes"} if changing else {}),
        ),
    )


def _items(field: questions.Field, value: str | list[str]) -> list[dict[str, Any]]:
    """A group's choices as GOV.UK Frontend's radios, checkboxes and select take them."""
    chosen = value if isinstance(value, list) else [value]
    mark = "selected" if field.kind == "select" else "checked"
    return [
        {"value": code, "text": words, mark: code in chosen}
        for code, words in field.choices.items()
    ]


@pages.route("/drafts/<draft_id>/check-answers", methods=["GET", "POST"])
def check_answers(draft_id: str) -> ResponseReturnValue:
    """Every answer with a link to change it; sending loads the whole referral with the
    API's schema and hands it to Intake as the API does."""
    draft = _drafts().get(g.caller, draft_id)
    if "referral_id" in draft:
        return _sent(draft)
    unanswered = form.next_page(draft["pages_done"])
    if unanswered is not None:
        return redirect(url_for("pages.question", draft_id=draft_id, slug=unanswered.slug))
    if request.method == "GET":
        return _check_answers_page(draft, [])

    loaded, problems = form.check_referral(draft["answers"])
    if problems:
        return _check_answers_page(draft, problems), REFUSED
    try:
        record = _intake().receive(g.caller["partner"], loaded, draft["answers"], draft_id)
    except IdempotencyKeyReused:
        # An earlier send was stored but cut short before the draft was marked sent, and an
        # answer has changed since: the referral stands as first sent.
        return _check_answers_page(draft, [], SENT_BEFORE), REFUSED
    _drafts().submitted(g.caller, draft_id, record["_id"])
    return redirect(url_for("pages.referral_sent", referral_id=record["_id"]))


def _check_answers_page(
    draft: dict[str, Any], problems: list[form.Problem], refusal: str = ""
) -> str:
    answers = draft["answers"]
    sections = [
        {
            "page": page,
            "rows": [
                {
                    "field": f,
                    "shown": form.shown(f, answers),
                    "change": url_for(
                        "pages.question", draft_id=draft["_id"], slug=page.slug, change="yes"
                    )
                    + f"#{f.anchor}",
                }
                for f in page.fields
            ],
        }
        for page in questions.PAGES
    ]
    errors = {"check-answers": refusal} if refusal else {}
    for problem in problems:
        errors.setdefault(f"change-{problem.field.name}", problem.message)
    return render_template(
        "check_answers.html",
        errors=errors,
        sections=sections,
        referrer=answers.get("referrer", {}),
        draft=draft,
    )


@pages.get("/referrals/<referral_id>/sent")
def referral_sent(referral_id: str) -> ResponseReturnValue:
    """The confirmation, with the reference. Another organisation's referral is not found."""
    record = _intake().referral(g.caller["partner"], referral_id)
    if "pages.referral" in current_app.view_functions:
        follow = url_for("pages.referral", referral_id=record["_id"])
    else:  # until following's page of one referral is there
        follow = f"/referrals/{record['_id']}"
    return render_template("confirmation.html", errors={}, record=record, follow=follow)
