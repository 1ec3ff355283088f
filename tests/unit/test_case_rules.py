"""Casework's rules: which operations a case accepts in each state, and what they change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backbone.clock import working_days_between
from backbone.errors import NotAllowed
from services.casework import domain
from tests.factories import referral_received_data

OPENED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
LATER = OPENED + timedelta(days=1)
COORDINATOR = {"_id": "c1", "name": "Casey Coordinator", "roles": ["coordinator"]}
OTHER = {"_id": "c2", "name": "Robin Coordinator", "roles": ["coordinator"]}


def new_case(**changes) -> dict:
    referral = {**referral_received_data(), "received_at": OPENED.isoformat()}
    case = domain.open_case("case-1", referral, OPENED)
    return {**case, **changes}


def allocated(**changes) -> dict:
    return new_case(**{"status": "allocated", "coordinator_id": "c1", **changes})


def contact(**changes) -> dict:
    return {
        "method": "telephone",
        "happened_at": LATER,
        "duration_minutes": 30,
        "notes": "Talked about visits.",
        "needs_addressed": [],
        **changes,
    }


def test_a_new_case_holds_the_referrals_needs_as_identified():
    case = new_case()
    assert case["status"] == "open"
    assert set(case["needs"]) == set(referral_received_data()["needs"])
    assert {n["status"] for n in case["needs"].values()} == {"identified"}
    assert domain.case_opened(case)["needs"] == sorted(case["needs"])


def test_an_open_case_is_allocated_or_declined_and_nothing_else():
    case = new_case()
    for operation in [
        lambda: domain.record_contact(case, contact(), "k1", LATER, "c1"),
        lambda: domain.start_support(case, LATER, "c1"),
        lambda: domain.close(case, ["needs_met"], "Done.", LATER, "c1"),
    ]:
        with pytest.raises(NotAllowed, match="Allocate this case"):
            operation()
    change = domain.allocate(case, COORDINATOR, LATER, "manager")
    assert change.set == {"status": "allocated", "coordinator_id": "c1"}
    assert change.event_data["reassigned"] is False
    [declining] = domain.decline(case, "Outside the areas we cover.", LATER, "manager")
    assert declining.set["status"] == "declined"
    assert declining.event_data["reason_for_referrer"] == "Outside the areas we cover."


def test_reassigning_goes_to_another_coordinator_only():
    case = allocated()
    assert domain.allocate(case, OTHER, LATER, "m").event_data["reassigned"] is True
    with pytest.raises(NotAllowed, match="already theirs"):
        domain.allocate(case, COORDINATOR, LATER, "m")
    with pytest.raises(NotAllowed, match="coordinator"):
        domain.allocate(case, {"_id": "m", "name": "M", "roles": ["manager"]}, LATER, "m")


def test_a_contact_records_its_needs_as_addressed_and_keeps_its_notes_out_of_the_event():
    case = allocated()
    need = next(iter(case["needs"]))
    change = domain.record_contact(case, contact(needs_addressed=[need]), "k1", LATER, "c1")
    assert change.set[f"needs.{need}"]["status"] == "addressed"
    assert change.set["first_contact_at"] == LATER
    assert change.push["contacts"]["notes"] == "Talked about visits."
    assert "notes" not in change.event_data


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"happened_at": LATER + timedelta(days=2)}, "/happened_at"),  # after "now"
        ({"happened_at": OPENED - timedelta(minutes=1)}, "/happened_at"),  # before referral
        ({"needs_addressed": ["housing", "bereavement"]}, "/needs_addressed"),
    ],
)
def test_a_contact_in_the_future_or_before_the_case_or_for_unknown_needs_is_refused(changes, field):
    case = allocated(needs={"education": {"status": "identified", "at": OPENED}})
    with pytest.raises(NotAllowed) as refused:
        domain.record_contact(case, contact(**changes), "k1", LATER, "c1")
    assert refused.value.field == field


def test_a_closed_case_accepts_nothing_but_reopening():
    case = allocated(status="closed")
    for operation in [
        lambda: domain.record_contact(case, contact(), "k", LATER, "c1"),
        lambda: domain.assess_needs(
            case, [{"need": "housing", "status": "identified"}], LATER, "c1"
        ),
        lambda: domain.signpost(
            case, {"_id": "s", "name": "S", "status": "active"}, "p", "letter", False, LATER, "c1"
        ),
        lambda: domain.start_support(case, LATER, "c1"),
        lambda: domain.close(case, ["needs_met"], "Done.", LATER, "c1"),
        lambda: domain.decline(case, "No.", LATER, "c1"),
        lambda: domain.allocate(case, OTHER, LATER, "m"),
        lambda: domain.end_support(case, LATER, "c1"),
        lambda: domain.record_signpost_outcome(case, "p1", "engaged", LATER, "c1"),
    ]:
        with pytest.raises(NotAllowed, match="closed: reopen it first"):
            operation()
    declined = new_case(status="declined")
    with pytest.raises(NotAllowed, match="declined: reopen it first"):
        domain.allocate(declined, COORDINATOR, LATER, "m")
    with pytest.raises(NotAllowed):
        domain.reopen(allocated(), LATER, "m")


def test_reopening_clears_what_the_close_or_decline_said():
    closed = allocated(
        status="closed", closed_at=LATER, outcomes=["needs_met"], outcome_for_referrer="Done."
    )
    change = domain.reopen(closed, LATER, "m")
    assert change.set["status"] == "allocated"
    assert {k: change.set[k] for k in domain.ENDING_FIELDS} == dict.fromkeys(domain.ENDING_FIELDS)
    assert domain.reopen(new_case(status="declined"), LATER, "m").set["status"] == "open"


def test_closing_ends_ongoing_support_first():
    case = allocated(support={"ongoing": True, "started_at": OPENED, "periods": []})
    ending, closing = domain.close(case, ["needs_met"], "Support is complete.", LATER, "c1")
    assert ending.event_type == "SupportEnded"
    assert ending.push["support.periods"] == {"started_at": OPENED, "ended_at": LATER}
    assert closing.event_type == "CaseClosed"
    assert closing.event_data["outcome_for_referrer"] == "Support is complete."
    assert [c.event_type for c in domain.close(allocated(), ["other"], "x", LATER, "c")] == [
        "CaseClosed"
    ]


def test_declining_ends_ongoing_support_too():
    case = allocated(support={"ongoing": True, "started_at": OPENED, "periods": []})
    ending, declining = domain.decline(case, "The family asked us to stop.", LATER, "c1")
    assert (ending.event_type, declining.event_type) == ("SupportEnded", "CaseDeclined")


def test_support_starts_and_ends_once():
    case = allocated()
    with pytest.raises(NotAllowed, match="no ongoing"):
        domain.end_support(case, LATER, "c1")
    assert domain.start_support(case, LATER, "c1").set["support.ongoing"] is True
    with pytest.raises(NotAllowed, match="already ongoing"):
        domain.start_support(
            allocated(support={"ongoing": True, "started_at": OPENED, "periods": []}), LATER, "c1"
        )


def test_signposting_shares_details_only_with_consent():
    service = {"_id": "svc", "name": "Cruse bereavement helpline", "status": "active"}
    case = allocated()
    case["referral"]["consent"]["share_with_agencies"] = False
    with pytest.raises(NotAllowed) as refused:
        domain.signpost(case, service, "p1", "telephone", True, LATER, "c1")
    assert refused.value.field == "/personal_details_shared"
    change = domain.signpost(case, service, "p1", "telephone", False, LATER, "c1")
    assert change.event_data["personal_details_shared"] is False
    assert change.push["signposts"]["outcome"] == "pending"


def test_a_signpost_names_the_needs_of_the_case_the_service_is_listed_for():
    case = allocated(
        needs={
            "housing": {"status": "identified", "at": OPENED},
            "bereavement": {"status": "addressed", "at": LATER},
            "employment": {"status": "identified", "at": OPENED},
        }
    )
    listed = ["one_to_one_emotional_support", "housing", "financial_difficulties", "bereavement"]
    for needs in (listed, list(reversed(listed))):  # in code order, however it lists them
        service = {"_id": "s", "name": "Advice centre", "status": "active", "needs": needs}
        change = domain.signpost(case, service, "p1", "letter", False, LATER, "c1")
        assert change.event_data["needs"] == ["bereavement", "housing"]


@pytest.mark.parametrize(
    "service",
    [
        {"_id": "s", "name": "Jobcentre", "status": "active", "needs": ["employment"]},
        {"_id": "s", "name": "Jobcentre", "status": "active", "needs": []},
        {"_id": "s", "name": "Jobcentre", "status": "active"},  # a view kept before needs were
    ],
)
def test_a_signpost_to_a_service_for_none_of_the_cases_needs_names_none(service):
    case = allocated(needs={"housing": {"status": "identified", "at": OPENED}})
    change = domain.signpost(case, service, "p1", "telephone", False, LATER, "c1")
    assert change.event_data["needs"] == []


@pytest.mark.parametrize("service", [None, {"_id": "s", "name": "Gone", "status": "inactive"}])
def test_signposting_to_an_unknown_or_withdrawn_service_is_refused(service):
    with pytest.raises(NotAllowed) as refused:
        domain.signpost(allocated(), service, "p1", "letter", False, LATER, "c1")
    assert refused.value.field == "/service_id"


def test_a_signpost_outcome_is_recorded_against_its_signpost():
    case = allocated(signposts=[{"id": "p1", "service_name": "Cruse", "outcome": "pending"}])
    change = domain.record_signpost_outcome(case, "p1", "engaged", LATER, "c1")
    assert change.set == {"signposts.0.outcome": "engaged", "signposts.0.outcome_at": LATER}
    with pytest.raises(NotAllowed) as refused:
        domain.record_signpost_outcome(case, "p9", "engaged", LATER, "c1")
    assert refused.value.field == "/signpost_id"
    with pytest.raises(NotAllowed) as refused:
        domain.record_signpost_outcome(case, "p1", "delighted", LATER, "c1")
    assert refused.value.field == "/outcome"


def test_reassessing_needs_to_what_they_are_changes_nothing():
    case = allocated(needs={"housing": {"status": "identified", "at": OPENED}})
    with pytest.raises(NotAllowed, match="Nothing changes"):
        domain.assess_needs(case, [{"need": "housing", "status": "identified"}], LATER, "c1")
    change = domain.assess_needs(
        case,
        [{"need": "housing", "status": "addressed"}, {"need": "education", "status": "identified"}],
        LATER,
        "c1",
    )
    assert set(change.set) == {"needs.housing", "needs.education"}
    twice = [
        {"need": "education", "status": "identified"},
        {"need": "education", "status": "addressed"},
    ]
    with pytest.raises(NotAllowed, match="each need once"):
        domain.assess_needs(case, twice, LATER, "c1")


def test_waiting_for_first_contact_counts_working_days_from_the_referral():
    case = new_case()  # referred on a Monday
    assert not domain.waiting_for_first_contact(case, OPENED + timedelta(days=7))  # 5 days
    assert domain.waiting_for_first_contact(case, OPENED + timedelta(days=8))  # 6 days
    contacted = new_case(first_contact_at=LATER)
    assert not domain.waiting_for_first_contact(contacted, OPENED + timedelta(days=30))


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (date(2026, 11, 23), date(2026, 12, 7), 10),  # Monday to Monday, two weeks on
        (date(2026, 11, 21), date(2026, 11, 23), 1),  # Saturday to Monday
        (date(2026, 11, 27), date(2026, 11, 29), 0),  # Friday to Sunday
        (date(2026, 11, 27), date(2026, 11, 27), 0),
        (date(2026, 11, 27), date(2026, 11, 20), 0),  # backwards
    ],
)
def test_working_days_are_weekdays_after_the_start_up_to_the_end(start, end, days):
    assert working_days_between(start, end) == days


def withdrawal(**changes) -> dict:
    """ReferralWithdrawn's data as casework's consumer reads it."""
    return {
        "referral_id": "r1",
        "partner_id": "p1",
        "reason": "other",
        "details": "The family moved to Orkney.",
        "withdrawn_by": {"kind": "user", "name": "Morgan Testperson"},
        "at": LATER,
        **changes,
    }


def test_a_withdrawn_referrals_case_is_closed_as_withdrawn_saying_who_and_why():
    for case in (new_case(), allocated()):
        noted, closing = domain.withdraw(case, withdrawal(), LATER)
        assert (noted.event_type, noted.timeline_kind) == (None, "ReferralWithdrawn")
        assert noted.summary == (
            "Withdrawn by Morgan Testperson: Another reason. The family moved to Orkney."
        )
        assert noted.set["withdrawal"]["reason"] == "other"
        assert closing.event_type == "CaseClosed"
        assert closing.event_data["outcomes"] == ["withdrawn"]
        assert closing.event_data["outcome_for_referrer"] == (
            "Withdrawn by the referrer: Another reason."
        )
        assert closing.set["status"] == "closed"


def test_withdrawing_ends_ongoing_support_first_as_closing_does():
    case = allocated(support={"ongoing": True, "started_at": OPENED, "periods": []})
    changes = domain.withdraw(case, withdrawal(reason="sent_by_mistake", details=None), LATER)
    assert [c.timeline_kind for c in changes] == ["ReferralWithdrawn", "SupportEnded", "CaseClosed"]
    assert changes[0].summary == "Withdrawn by Morgan Testperson: Sent by mistake."


def test_a_closed_or_declined_case_notes_the_withdrawal_and_is_not_closed_again():
    for case in (allocated(status="closed"), new_case(status="declined")):
        [noted] = domain.withdraw(case, withdrawal(), LATER)
        assert noted.event_type is None and "status" not in noted.set


def test_a_withdrawal_known_already_changes_nothing_and_the_case_is_not_reopened():
    case = allocated()
    for change in domain.withdraw(case, withdrawal(), LATER):
        case.update(change.set)
    assert domain.withdraw(case, withdrawal(), LATER) == []
    with pytest.raises(NotAllowed, match="withdrew"):
        domain.reopen(case, LATER, "m")


def test_coordinators_cannot_choose_withdrawn_as_an_outcome():
    assert "withdrawn" not in domain.CHOSEN_OUTCOMES
    assert "needs_met" in domain.CHOSEN_OUTCOMES
