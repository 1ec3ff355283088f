"""How the following pages put a referral into words: no I/O."""

from __future__ import annotations

from datetime import datetime

from backbone.clock import uk_time
from backbone.events.referral import ReferralSchema
from services.referral.pages.presenting import (
    pagination,
    sent_sections,
    status_tag,
    timeline,
    uk_date,
)
from tests.factories import referral


def test_times_are_in_uk_time_summer_and_winter():
    assert uk_time(datetime(2026, 7, 1, 13, 5)) == "1 July 2026, 2:05pm"  # stored as UTC
    assert uk_time("2026-12-01T00:30:00+00:00") == "1 December 2026, 12:30am"
    assert uk_time("2026-12-01T12:00:00+00:00") == "1 December 2026, 12:00pm"


def test_dates_read_as_day_month_year():
    assert uk_date("2026-03-02") == "2 March 2026"


def test_a_status_tag_has_its_words_and_colour():
    assert status_tag("declined") == {"text": "Declined", "classes": "govuk-tag--red"}
    assert status_tag("accepted") == {"text": "Accepted", "classes": ""}


def at(hour: int) -> datetime:
    return datetime(2026, 3, 2, hour)


def test_the_timeline_is_newest_first_with_the_referrers_words():
    history = [
        {"status": "received", "at": at(9)},
        {"status": "accepted", "at": at(10)},
        {"status": "allocated", "at": at(11)},
        {"status": "closed", "at": at(12), "outcome": "Now supported by Cruse."},
    ]
    assert [(e["title"], e["words"]) for e in timeline(history)] == [
        ("Closed", "Now supported by Cruse."),
        ("Allocated to a coordinator", ""),
        ("Accepted", ""),
        ("Received", ""),
    ]


def test_a_decline_carries_its_reason_and_a_reopening_says_so():
    history = [
        {"status": "received", "at": at(9)},
        {"status": "declined", "at": at(10), "reason": "Outside our area."},
        {"status": "allocated", "at": at(11)},
    ]
    titles = [(e["title"], e["words"]) for e in timeline(history)]
    assert titles == [
        ("Reopened and allocated to a coordinator", ""),
        ("Declined", "Outside our area."),
        ("Received", ""),
    ]


def test_a_withdrawal_says_why_and_by_whom():
    by_user = {"kind": "user", "name": "Alex Lifecoach"}
    by_system = {"kind": "api", "name": "Routes out of Prison Glasgow"}
    history = [
        {"status": "received", "at": at(9)},
        {"status": "withdrawn", "at": at(10), "reason": "sent_by_mistake", "by": by_user},
    ]
    [withdrawn, _] = timeline(history)
    assert (withdrawn["title"], withdrawn["words"]) == ("Withdrawn", "Sent by mistake")
    assert withdrawn["by"] == "Alex Lifecoach"
    history[1] |= {"reason": "other", "details": "Another service took it on.", "by": by_system}
    [withdrawn, _] = timeline(history)
    assert withdrawn["words"] == "Another reason. Another service took it on."
    assert withdrawn["by"] == "Routes out of Prison Glasgow's own system"


def test_a_withdrawal_that_crossed_a_closing_says_it_came_after():
    history = [
        {"status": "received", "at": at(9)},
        {"status": "closed", "at": at(10), "outcome": "Supported; needs met."},
        {"status": "withdrawn", "at": at(11), "reason": "family_changed_mind"},
    ]
    [asked, closed, _] = timeline(history)
    assert asked["title"] == "Withdrawal asked for after the referral was closed"
    assert (closed["title"], closed["words"]) == ("Closed", "Supported; needs met.")


def test_one_page_needs_no_pagination():
    assert pagination(1, 1, str) is None
    assert pagination(1, 0, str) is None


def test_pagination_shows_first_last_and_neighbours_with_gaps_marked():
    shown = pagination(5, 9, lambda n: f"?page={n}")
    numbers = [item.get("number", "…") for item in shown["items"]]
    assert numbers == [1, "…", 4, 5, 6, "…", 9]
    assert [item["number"] for item in shown["items"] if item.get("current")] == [5]
    assert shown["previous"] == {"href": "?page=4"}
    assert shown["next"] == {"href": "?page=6"}
    first = pagination(1, 2, lambda n: f"?page={n}")
    assert "previous" not in first and first["next"] == {"href": "?page=2"}


def test_what_was_sent_leaves_out_answers_not_given_and_escapes_what_was():
    sent = ReferralSchema().dump(
        ReferralSchema().load(
            referral(
                family_member__contact={"phone": "0141 496 0123", "town": "<b>Govan</b>"},
                children__number=0,
                children__ages=[],
            )
        )
    )
    del sent["children"]["care_arrangement"]
    sections = dict(sent_sections(sent))
    family = {row["key"]["text"]: row["value"] for row in sections["The family member"]}
    assert "Email" not in family
    assert str(family["Address"]["html"]) == "&lt;b&gt;Govan&lt;/b&gt;"
    children = [row["key"]["text"] for row in sections["Children"]]
    assert children == ["Number of children", "Child protection involvement"]
