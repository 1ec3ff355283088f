"""How the following pages put a referral into words: its status as a tag, its status
history as a timeline, times in UK time, pages of the list, and what was sent as GOV.UK
summary lists. Free of Flask, so each rule is tested alone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from markupsafe import Markup, escape

from backbone.clock import instant
from backbone.events import vocabulary as v
from services.referral.domain import FINISHED_BY_CASEWORK

# GOV.UK Frontend's tag is blue unless given a colour.
STATUS_TAG_CLASSES = {
    "received": "govuk-tag--light-blue",
    "accepted": "",
    "allocated": "govuk-tag--green",
    "declined": "govuk-tag--red",
    "closed": "govuk-tag--grey",
    "withdrawn": "govuk-tag--orange",
}
TIMELINE_TITLES = {
    "received": "Received",
    "accepted": "Accepted",
    "allocated": "Allocated to a coordinator",
    "declined": "Declined",
    "closed": "Closed",
    "withdrawn": "Withdrawn",
}


def status_tag(status: str) -> dict[str, str]:
    """A referral's status as the GOV.UK tag macro takes it."""
    words = v.REFERRAL_STATUSES.get(status, status.capitalize())
    return {"text": words, "classes": STATUS_TAG_CLASSES.get(status, "")}


def uk_date(day: date | str) -> str:
    """A calendar date as '12 March 2026'."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return f"{day.day} {day:%B %Y}"


def timeline(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The status history in words, newest first: each {status, title, words, by, at}.
    `words` are what casework wrote for the referrer (a reason to decline, an outcome),
    or why the referral was withdrawn."""
    entries = []
    before = None
    for change in history:
        status = change["status"]
        title = TIMELINE_TITLES.get(status, status.capitalize())
        if before in FINISHED_BY_CASEWORK and status == "withdrawn":
            title = f"Withdrawal asked for after the referral was {before}"
        elif before in FINISHED_BY_CASEWORK and status not in FINISHED_BY_CASEWORK:
            title = "Reopened" if status == "accepted" else f"Reopened and {title.lower()}"
        entries.append(
            {
                "status": status,
                "title": title,
                "words": _words(change),
                "by": _by(change.get("by")),
                "at": instant(change["at"]),
            }
        )
        before = status
    return entries[::-1]


def _words(change: dict[str, Any]) -> str:
    if change["status"] == "declined":
        return change.get("reason", "")
    if change["status"] == "closed":
        return change.get("outcome", "")
    if change["status"] == "withdrawn":
        reason = v.WITHDRAWAL_REASONS.get(change.get("reason", ""), "")
        return ". ".join(part for part in (reason, change.get("details", "")) if part)
    return ""


def _by(who: dict[str, str] | None) -> str:
    if not who:
        return ""
    return who["name"] if who.get("kind") == "user" else f"{who['name']}'s own system"


def pagination(page: int, total_pages: int, href: Callable[[int], str]) -> dict[str, Any] | None:
    """The GOV.UK pagination macro's parameters (None for a single page): the first, the
    last, the current page and its neighbours, with an ellipsis for each gap."""
    if total_pages <= 1:
        return None
    shown = sorted({1, page - 1, page, page + 1, total_pages} & set(range(1, total_pages + 1)))
    items: list[dict[str, Any]] = []
    for number in shown:
        if items and number - items[-1]["number"] > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == page})
    params: dict[str, Any] = {"items": items, "landmarkLabel": "Pages of referrals"}
    if page > 1:
        params["previous"] = {"href": href(page - 1)}
    if page < total_pages:
        params["next"] = {"href": href(page + 1)}
    return params


def sent_sections(referral: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """What the organisation sent, as (heading, rows of a GOV.UK summary list)."""
    referrer = referral["referrer"]
    family = referral["family_member"]
    contact = family.get("contact") or {}
    custody = referral["person_in_custody"]
    children = referral["children"]
    consent = referral["consent"]
    address = [
        contact.get(part) for part in ("address_line_1", "address_line_2", "town", "postcode")
    ]
    return [
        (
            "The family member",
            _rows(
                ("Name", family["name"]),
                ("Date of birth", family.get("date_of_birth") and uk_date(family["date_of_birth"])),
                (
                    "Relationship to the person in custody",
                    _label(v.RELATIONSHIPS, family["relationship_to_person_in_custody"]),
                ),
                ("Telephone", contact.get("phone")),
                ("Email", contact.get("email")),
                ("Address", _lines(address)),
                ("Area", _label(v.LOCAL_AUTHORITIES, family["local_authority"])),
                (
                    "Preferred contact",
                    _label(v.CONTACT_METHODS, family["preferred_contact_method"]),
                ),
                ("Safe contact notes", family.get("safe_contact_notes")),
            ),
        ),
        (
            "The person in custody",
            _rows(
                ("Status", _label(v.CUSTODY_STATUSES, custody["status"])),
                ("Establishment", _label(v.ESTABLISHMENTS, custody["establishment"])),
                (
                    "Expected release date",
                    custody.get("expected_release_date")
                    and uk_date(custody["expected_release_date"]),
                ),
            ),
        ),
        (
            "Children",
            _rows(
                ("Number of children", str(children["number"])),
                ("Ages", ", ".join(str(age) for age in children.get("ages", []))),
                (
                    "Living with",
                    children.get("care_arrangement")
                    and _label(v.CARE_ARRANGEMENTS, children["care_arrangement"]),
                ),
                (
                    "Child protection involvement",
                    _yes_no(children["child_protection_involvement"]),
                ),
            ),
        ),
        (
            "The referral",
            _rows(
                ("Referred on", uk_date(referral["referred_on"])),
                ("Urgency", _label(v.URGENCIES, referral["urgency"])),
                ("Needs", _lines([_label(v.NEEDS, need) for need in referral["needs"]])),
                ("Why referred", referral["reason"]),
            ),
        ),
        (
            "Consent",
            _rows(
                ("Consent to the referral", _yes_no(consent["referral"])),
                ("Consent to share with other agencies", _yes_no(consent["share_with_agencies"])),
                ("Recorded on", uk_date(consent["recorded_on"])),
                ("Recorded by", consent["recorded_by"]),
            ),
        ),
        (
            "Referred by",
            _rows(
                ("Name", referrer["name"]),
                ("Role", _label(v.REFERRER_ROLES, referrer["role"])),
                ("Team", _label(v.REFERRING_TEAMS, referrer["team"])),
                ("Organisation", referrer.get("organisation")),
                ("Telephone", referrer.get("phone")),
                ("Email", referrer.get("email")),
            ),
        ),
    ]


def _label(vocabulary: dict[str, str], code: str) -> str:
    return vocabulary.get(code, code)


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def _lines(parts: list[str | None]) -> Markup | None:
    """Each part on a line of its own, escaped; None when there are none."""
    given = [escape(part) for part in parts if part]
    return Markup("<br>").join(given) if given else None


def _rows(*pairs: tuple[str, str | Markup | None]) -> list[dict[str, Any]]:
    """Summary list rows of the answers given; one not given has no row."""
    rows = []
    for key, value in pairs:
        if not value:
            continue
        shown = {"html": value} if isinstance(value, Markup) else {"text": value}
        rows.append({"key": {"text": key}, "value": shown})
    return rows
