"""The reporting view's rules: what a referral's fact record keeps, and what it adds to
the counters reports read, whatever order events come in and however often."""

from __future__ import annotations

from collections import Counter
from datetime import date

from services.reporting import facts
from tests.unit.reporting_events import (
    case_event,
    contact,
    referral_received,
    referral_withdrawn,
)


def replay(events) -> tuple[dict, Counter]:
    """The record and the cells after `events`, applied as the consumer applies them."""
    record, cells = facts.new_fact("r1"), Counter()
    for event in events:
        after = facts.apply(record, event)
        if after is None:
            continue
        for cell, counts in facts.difference(
            facts.contributions(record), facts.contributions(after)
        ).items():
            for path, n in counts.items():
                cells[f"{cell}/{path}"] += n
        record = after
    return record, Counter({key: n for key, n in cells.items() if n})


def a_case_history():
    return [
        referral_received("r1", needs=("housing", "education")),
        case_event(
            "CaseOpened",
            "r1",
            date(2008, 10, 6),
            partner_id="p",
            referring_team="GLASGOW",
            local_authority="GLASGOW_CITY",
            needs=["education", "housing"],
        ),
        case_event("CaseAllocated", "r1", date(2008, 10, 7), coordinator_id="c1", reassigned=False),
        contact("r1", date(2008, 10, 9), needs=("housing",)),
        case_event("SupportStarted", "r1", date(2008, 10, 9)),
        case_event(
            "SignpostMade",
            "r1",
            date(2008, 10, 10),
            signpost_id="s1",
            service_id="svc1",
            method="letter",
            personal_details_shared=False,
            needs=["education"],
        ),
        case_event(
            "SignpostOutcomeRecorded", "r1", date(2008, 10, 20), signpost_id="s1", outcome="engaged"
        ),
        case_event("SupportEnded", "r1", date(2008, 12, 9)),
        case_event(
            "CaseClosed",
            "r1",
            date(2008, 12, 9),
            outcomes=["needs_met"],
            outcome_for_referrer="Synthetic words for the referrer.",
        ),
    ]


def test_a_referral_counts_in_the_month_of_its_referral_date_for_its_team_and_area():
    _, cells = replay(
        [
            referral_received(
                "r1",
                team="LANARKSHIRE",
                referred_on=date(2009, 3, 31),
                local_authority="NORTH_LANARKSHIRE",
            )
        ]
    )
    assert cells["m|2009-03|LANARKSHIRE|NORTH_LANARKSHIRE/referrals"] == 1
    assert cells["t|2009-03|LANARKSHIRE/referrals"] == 1  # the team's, any authority


def test_the_cell_of_a_team_holds_what_its_authorities_cells_hold():
    _, cells = replay(a_case_history())
    by_authority = {
        key.split("/", 1)[1]: n for key, n in cells.items() if key.startswith("m|2008-10|")
    }
    by_team = {key.split("/", 1)[1]: n for key, n in cells.items() if key.startswith("t|")}
    assert by_team == by_authority
    assert {key.split("/")[0] for key in cells if key.startswith("t|")} == {"t|2008-10|GLASGOW"}


def test_a_worked_case_adds_its_needs_first_contact_support_signposts_and_outcome():
    record, cells = replay(a_case_history())
    cell = "m|2008-10|GLASGOW|GLASGOW_CITY"
    assert cells[f"{cell}/needs_identified.housing"] == 1
    assert cells[f"{cell}/needs_answered.housing"] == 1  # addressed in a contact
    assert cells[f"{cell}/needs_answered.education"] == 1  # a signpost was made for it
    assert cells[f"{cell}/first_contact_days.3"] == 1  # Monday 6 to Thursday 9 October
    assert cells[f"{cell}/support_days.61"] == 1
    assert cells[f"{cell}/signposts.svc1.engaged"] == 1
    assert cells[f"{cell}/closing_outcomes.needs_met"] == 1
    assert cells[f"{cell}/status.closed"] == 1
    assert cells[f"{cell}/with_children"] == 1
    assert not any(key.startswith("c|") for key in cells)  # closed: no longer anyone's caseload
    assert record["status"] == "closed"


def test_the_order_events_arrive_in_across_topics_does_not_change_the_counts():
    history = a_case_history()
    _, in_order = replay(history)
    # Intake's event may come after casework's, which come in their own order.
    _, referral_last = replay([*history[1:], history[0]])
    assert referral_last == in_order


def test_an_event_applied_twice_changes_nothing_the_second_time():
    history = a_case_history()
    doubled = [event for event in history for _ in range(2)]
    assert replay(doubled) == replay(history)


def test_case_events_before_the_referral_count_nothing_by_month_until_it_arrives():
    history = a_case_history()
    _, cells = replay(history[1:3])
    assert all(key.startswith("c|") for key in cells)  # only the caseload
    assert cells["c|c1/cases"] == 1


def test_reopening_takes_back_the_closing_outcomes():
    history = a_case_history()
    reopened = case_event("CaseReopened", "r1", date(2009, 1, 5), status="allocated")
    _, cells = replay([*history, reopened])
    assert "m|2008-10|GLASGOW|GLASGOW_CITY/closing_outcomes.needs_met" not in cells
    assert cells["m|2008-10|GLASGOW|GLASGOW_CITY/status.allocated"] == 1
    assert cells["c|c1/cases"] == 1


def test_a_referral_still_waiting_is_counted_by_the_day_it_was_referred():
    _, cells = replay([referral_received("r1", referred_on=date(2026, 11, 2))])
    assert cells["m|2026-11|GLASGOW|GLASGOW_CITY/waiting_since.2026-11-02"] == 1


def test_the_record_keeps_no_personal_data():
    record, _ = replay(a_case_history())
    text = repr(record)
    for personal in (
        "Alex Example",
        "Sam Synthetic",
        "1980",
        "0141 496",
        "Synthetic free text",
        "Synthetic words for the referrer",
    ):
        assert personal not in text


def a_withdrawn_referral():
    """Referred in October 2008, allocated, withdrawn; its case closed for the withdrawal."""
    return [
        referral_received("r1"),
        case_event("CaseAllocated", "r1", date(2008, 10, 7), coordinator_id="c1", reassigned=False),
        referral_withdrawn("r1", date(2008, 10, 8), reason="sent_by_mistake"),
        case_event(
            "CaseClosed",
            "r1",
            date(2008, 10, 8),
            outcomes=["withdrawn"],
            outcome_for_referrer="Withdrawn by the referrer: Sent by mistake.",
        ),
    ]


def test_a_withdrawal_counts_in_its_referrals_month_for_its_team_with_its_reason():
    record, cells = replay(a_withdrawn_referral())
    for cell in ("m|2008-10|GLASGOW|GLASGOW_CITY", "t|2008-10|GLASGOW"):
        assert cells[f"{cell}/withdrawn"] == 1
        assert cells[f"{cell}/withdrawn_reasons.sent_by_mistake"] == 1
        assert cells[f"{cell}/closing_outcomes.withdrawn"] == 1
        assert cells[f"{cell}/referrals"] == 1
    assert not any(key.startswith("c|") for key in cells)  # no longer anyone's caseload
    assert "details" not in str(record) and "Synthetic" not in str(record)
    assert "Morgan" not in str(record)


def test_a_withdrawn_referral_is_not_open_whether_or_not_its_case_closing_arrived():
    history = a_withdrawn_referral()
    _, before_closing = replay(history[:3])
    cell = "m|2008-10|GLASGOW|GLASGOW_CITY"
    assert before_closing[f"{cell}/status.withdrawn"] == 1
    assert not any("waiting_since" in key or "status.allocated" in key for key in before_closing)
    assert not any(key.startswith("c|") for key in before_closing)


def test_a_withdrawal_counts_the_same_in_any_order_and_once():
    history = a_withdrawn_referral()
    _, in_order = replay(history)
    assert replay([history[2], history[3], history[0], history[1]])[1] == in_order
    assert replay([event for event in history for _ in range(2)])[1] == in_order


def test_a_withdrawal_that_crossed_a_closing_counts_as_the_closing_only():
    # Casework closed the case (needs met) just before intake took the withdrawal: it did
    # not honour it, so the referral is closed, not withdrawn too.
    history = [
        referral_received("r1"),
        case_event("CaseAllocated", "r1", date(2008, 10, 7), coordinator_id="c1", reassigned=False),
        case_event(
            "CaseClosed",
            "r1",
            date(2008, 10, 8),
            outcomes=["needs_met"],
            outcome_for_referrer="Supported; needs met.",
        ),
        referral_withdrawn("r1", date(2008, 10, 8), reason="family_changed_mind"),
    ]
    cell = "m|2008-10|GLASGOW|GLASGOW_CITY"
    for events in (history, [history[3], *history[:3]]):
        _, cells = replay(events)
        assert cells[f"{cell}/status.closed"] == 1
        assert cells[f"{cell}/closing_outcomes.needs_met"] == 1
        assert not any("withdrawn" in key for key in cells)
    # Heard of before the closing, the withdrawal counts until the closing arrives.
    _, before_closing = replay([*history[:2], history[3]])
    assert before_closing[f"{cell}/withdrawn"] == 1
