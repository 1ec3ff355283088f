"""The referral form's rules, free of I/O: its question pages in order, each page's posted
fields shaped as its part of the referral's JSON (the body the API takes), and that part
judged by the API's own schema (ReferralSchema, restricted to the keys the page answers),
so that the form and the API can never disagree about what is valid. Marshmallow's
messages come back as {field name: message}, for the GOV.UK error summary and the fields.

A draft's answers are kept in the referral's JSON shape; `form_values` turns them back
into what the boxes show. The pages themselves are form_questions.py."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from marshmallow import ValidationError

from backbone.events.referral import ReferralSchema
from services.referral.form_questions import PAGES, Field, Page


@dataclass(frozen=True)
class Checked:
    """A page's answers judged: `answers` (the draft's answers with this page's in place)
    when valid, else None and `errors` ({field name: message}, in the page's order)."""

    answers: dict[str, Any] | None
    errors: dict[str, str]


# ---- the signed-in user's part ------------------------------------------------------------


def from_user(user: Mapping[str, Any]) -> dict[str, Any]:
    """What the form does not ask: the referrer is the signed-in user, their email the way
    back and their organisation the partner; they record the consent they asked for."""
    return {
        "referrer": {
            "name": user["name"],
            "email": user["username"],
            "organisation": user["partner"]["name"],
        },
        "consent": {"recorded_by": user["name"]},
    }


# ---- posted fields -> the referral's JSON ------------------------------------------------


def shape(page: Page, posted: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The page's posted fields (a MultiDict) as its part of the referral's JSON, with an
    answer not given left out, so that the schema says whether it may be; and
    {field name: message} for answers that cannot even be shaped (half a date)."""
    part: dict[str, Any] = {}
    unshaped: dict[str, str] = {}
    for f in page.fields:
        try:
            value = _value(f, posted)
        except ValueError:
            unshaped[f.name] = f.invalid
            continue
        if value is not None:
            _put(part, f.path, value)
    return part, unshaped


def _value(f: Field, posted: Any) -> Any:
    if f.kind == "checkboxes":
        return [choice for choice in posted.getlist(f.name) if choice]
    if f.kind == "date":
        return _iso_date(*(posted.get(f"{f.name}-{box}", "").strip() for box in DATE_BOXES))
    typed = posted.get(f.name, "").strip()
    if not typed:
        return None
    if f.kind == "yes_no":
        return {"yes": True, "no": False}.get(typed, typed)
    if f.kind == "number":
        return _whole_number(typed)
    if f.kind == "numbers":
        return [_whole_number(number) for number in re.split(r"[\s,]+", typed) if number]
    return typed


DATE_BOXES = ("day", "month", "year")


def _iso_date(day: str, month: str, year: str) -> str | None:
    """An ISO date from GOV.UK's three boxes; None when all are empty; ValueError when they
    make no real date (31 2 2026, half a date, a two-digit year)."""
    if not (day or month or year):
        return None
    if not (day.isdecimal() and month.isdecimal() and year.isdecimal() and len(year) == 4):
        raise ValueError("not a date")
    return date(int(year), int(month), int(day)).isoformat()


def _whole_number(typed: str) -> int | str:
    # Anything else goes to the schema as typed, for it to refuse.
    return int(typed) if typed.isascii() and typed.isdecimal() else typed


def _put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _get(source: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(source, Mapping) or key not in source:
            return None
        source = source[key]
    return source


def _drop(target: dict[str, Any], path: tuple[str, ...]) -> None:
    for key in path[:-1]:
        target = target.get(key)
        if not isinstance(target, dict):
            return
    target.pop(path[-1], None)


def _merged(answers: Mapping[str, Any], page: Page, part: Mapping[str, Any]) -> dict[str, Any]:
    """The draft's answers with this page's answers replaced by `part` (an answer cleared
    on the page is cleared in the draft)."""
    result = _copy(answers)
    for f in page.fields:
        _drop(result, f.path)
        value = _get(part, f.path)
        if value is not None:
            _put(result, f.path, value)
    return result


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return list(value)
    return value


# ---- judging ----------------------------------------------------------------------------


def check_page(
    page: Page, answers: Mapping[str, Any], posted: Any, user: Mapping[str, Any]
) -> Checked:
    """Judge a page's posted answers together with the draft's other answers to the same
    parts (the family member is asked across two pages), by the API's schema. Answers of
    other pages not given yet are not asked for here; messages about them are left for
    their own page and for "Check your answers"."""
    part, unshaped = shape(page, posted)
    combined = _merged(answers, page, part)
    for key, fixed in from_user(user).items():
        if key in page.keys:
            combined[key] = {**combined.get(key, {}), **fixed}
    # A part with nothing given is judged as {}, so that each missing answer is named.
    nested = {f.path[0] for f in page.fields if len(f.path) > 1}
    judged = {key: combined.get(key, {}) for key in nested}
    judged |= {key: combined[key] for key in page.keys if key in combined}
    not_here = tuple(
        ".".join(f.path) for p in PAGES if p is not page for f in p.fields if f.path[0] in page.keys
    )
    errors = dict(unshaped)
    try:
        page.schema.load(judged, partial=not_here)
    except ValidationError as error:
        for f, message in _placed(page, error.messages):
            errors.setdefault(f.name, f.words(message))
    if errors:
        return Checked(None, {f.name: errors[f.name] for f in page.fields if f.name in errors})
    return Checked(combined, {})


def _placed(page: Page, messages: Any) -> Iterator[tuple[Field, str]]:
    """Each of marshmallow's messages with the field of `page` it is about. A message about
    no field of any page (the referrer's way back, say) goes on the page's first field:
    whatever the schema refuses, the page refuses."""
    for path, message in flatten(messages):
        found = page.field_for(path, message)
        if found is not None:
            yield found, message
        elif not any(other.field_for(path, message) for other in PAGES):
            yield page.fields[0], message
        # else it is about another page's answer, and shown there and on "Check your answers"


def flatten(messages: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """marshmallow's nested messages as (path, message) pairs; "_schema" names no key."""
    if isinstance(messages, Mapping):
        for key, inner in messages.items():
            yield from flatten(inner, path if key == "_schema" else (*path, key))
    elif isinstance(messages, list):
        for inner in messages:
            yield from flatten(inner, path)
    else:
        yield path, str(messages)


def error_summary(page: Page, errors: Mapping[str, str]) -> dict[str, str]:
    """{element id: message} for the GOV.UK error summary, in the order of the page."""
    return {f.anchor: errors[f.name] for f in page.fields if f.name in errors}


@dataclass(frozen=True)
class Problem:
    """A message of the whole referral's check, with the page and field to change."""

    page: Page
    field: Field
    message: str


# The API's schema; built once, as building one with nested schemas takes milliseconds.
REFERRAL = ReferralSchema()


def check_referral(answers: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The whole referral loaded by the API's schema, as the API would load it; or None and
    each problem with the page and field to change."""
    try:
        return REFERRAL.load(_copy(answers)), []
    except ValidationError as error:
        problems = []
        for path, message in flatten(error.messages):
            page = next((p for p in PAGES if p.field_for(path, message)), PAGES[0])
            f = page.field_for(path, message) or page.fields[0]
            problems.append(Problem(page, f, f.words(message)))
        return None, problems


def next_page(done: list[str]) -> Page | None:
    """The first page not answered yet, or None when every page is."""
    return next((page for page in PAGES if page.slug not in done), None)


# ---- the referral's JSON -> what the page shows -------------------------------------------


def form_values(page: Page, answers: Mapping[str, Any]) -> dict[str, Any]:
    """What each field of `page` shows for the draft's answers: a string, a list of choices
    (checkboxes) or {day, month, year} (a date)."""
    values: dict[str, Any] = {}
    for f in page.fields:
        value = _get(answers, f.path)
        if value is None:
            values[f.name] = {} if f.kind == "date" else [] if f.kind == "checkboxes" else f.default
        elif f.kind == "date":
            year, month, day = str(value).split("-")
            values[f.name] = {"day": str(int(day)), "month": str(int(month)), "year": year}
        elif f.kind == "yes_no":
            values[f.name] = "yes" if value else "no"
        elif f.kind == "numbers":
            values[f.name] = ", ".join(str(n) for n in value)
        elif f.kind == "checkboxes":
            values[f.name] = list(value)
        else:
            values[f.name] = str(value)
    return values


def posted_values(page: Page, posted: Any) -> dict[str, Any]:
    """What each field shows again after a refused Continue: what was typed."""
    values: dict[str, Any] = {}
    for f in page.fields:
        if f.kind == "date":
            values[f.name] = {box: posted.get(f"{f.name}-{box}", "") for box in DATE_BOXES}
        elif f.kind == "checkboxes":
            values[f.name] = posted.getlist(f.name)
        else:
            values[f.name] = posted.get(f.name, "")
    return values


def shown(f: Field, answers: Mapping[str, Any]) -> str:
    """An answer as "Check your answers" shows it; "" when not given."""
    value = _get(answers, f.path)
    if value is None or value == []:
        return ""
    if f.kind == "date":
        return f"{date.fromisoformat(value):%-d %B %Y}"
    if f.kind == "yes_no":
        return "Yes" if value else "No"
    if f.kind == "numbers":
        return ", ".join(str(n) for n in value)
    if f.kind == "checkboxes":
        return "\n".join(f.choices.get(choice, choice) for choice in value)
    return f.choices.get(value, str(value)) if f.choices else str(value)
