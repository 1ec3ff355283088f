"""Who hears what, decided without I/O: the referrer and the partner's endpoints hear of
each change they see, managers of new referrals and long waits, coordinators of their
allocations; families never; emails carry a reference and links, not a family's details."""

import itertools
import random
from datetime import UTC, date, datetime

import pytest

from services.notifications import rules, templates
from services.notifications.daily import due
from services.notifications.delivery import next_delay
from services.notifications.kinds import KINDS

LINKS = rules.Links(
    "https://intake.example.org", "https://casework.example.org", "https://notices.example.org"
)
REFERRAL = {
    "_id": "r-1",
    "partner_id": "p-1",
    "referrer_email": "life.coach@example.org",
    "urgency": "urgent",
    "received_at": "2026-11-02T10:00:00+00:00",
}
PARTNER = {"_id": "p-1", "name": "Example Prison Life Coaches", "contact_email": "team@example.org"}
ENDPOINT = {
    "_id": "e-1",
    "partner_id": "p-1",
    "status": "active",
    "event_types": ["referral.received", "referral.closed"],
}
MANAGER = {"_id": "s-1", "active": True, "email": "m@example.org", "roles": ["manager"]}
COORDINATOR = {"_id": "s-2", "active": True, "email": "c@example.org", "roles": ["coordinator"]}


def test_a_received_referral_tells_the_referrer_by_email_and_the_partner_by_webhook():
    data = {"received_at": "2026-11-02T10:00:00+00:00"}
    intents = rules.referrer_messages(
        "ReferralReceived", data, REFERRAL, PARTNER, [ENDPOINT], LINKS
    )
    email, webhook = intents
    assert (email.channel, email.address, email.kind) == (
        "email",
        "life.coach@example.org",
        "referral_received",
    )
    assert email.values["status_link"] == "https://intake.example.org/v1/referrals/r-1"
    assert (webhook.channel, webhook.address) == ("webhook", "e-1")
    assert webhook.webhook == {
        "type": "referral.received",
        "timestamp": "2026-11-02T10:00:00+00:00",
        "data": {"referral_id": "r-1", "status": "received", "at": "2026-11-02T10:00:00+00:00"},
    }


def test_an_endpoint_hears_only_the_types_it_asked_for_and_only_while_active():
    data = {"at": "2026-11-03T10:00:00+00:00"}
    opened = rules.referrer_messages("CaseOpened", data, REFERRAL, PARTNER, [ENDPOINT], LINKS)
    assert [i.channel for i in opened] == ["email"]
    disabled = {**ENDPOINT, "status": "disabled"}
    closed = {**data, "outcome_for_referrer": "Needs met.", "case_id": "c-1"}
    got = rules.referrer_messages("CaseClosed", closed, REFERRAL, PARTNER, [disabled], LINKS)
    assert [i.channel for i in got] == ["email"]


def test_a_referrer_without_an_email_address_is_told_at_the_partners_named_address():
    referral = {**REFERRAL, "referrer_email": None}
    intents = rules.referrer_messages("CaseOpened", {"at": "x"}, referral, PARTNER, [], LINKS)
    assert [i.address for i in intents] == ["team@example.org"]
    assert rules.referrer_messages("CaseOpened", {"at": "x"}, referral, {}, [], LINKS) == []


def test_a_reassignment_is_not_news_to_the_referrer_but_is_to_the_new_coordinator():
    data = {"case_id": "c-1", "referral_id": "r-1", "coordinator_id": "s-2", "reassigned": True}
    assert rules.referrer_messages("CaseAllocated", data, REFERRAL, PARTNER, [], LINKS) == []
    (told,) = rules.allocation_messages(data, {"s-2": COORDINATOR}, LINKS)
    assert (told.address, told.kind, told.values["reassigned"]) == (
        "c@example.org",
        "case_allocated",
        "yes",
    )


def test_allocations_cannot_be_turned_off_but_new_referral_messages_can():
    quiet = {**COORDINATOR, "preferences": {"case_allocated": "none"}}
    data = {"case_id": "c-1", "referral_id": "r-1", "coordinator_id": "s-2", "reassigned": False}
    (told,) = rules.allocation_messages(data, {"s-2": quiet}, LINKS)
    assert not told.held
    # Every email to staff says where to choose what they get.
    text = templates.check(KINDS["case_allocated"]).render(told.values).text
    assert "Choose which emails you get: https://notices.example.org/preferences" in text
    off = {**MANAGER, "preferences": {"new_referral": "none"}}
    assert rules.new_referral_messages(REFERRAL, "c-1", "Glasgow", [off], LINKS) == []
    digest = {**MANAGER, "preferences": {"new_referral": "digest"}}
    (held,) = rules.new_referral_messages(REFERRAL, "c-1", "Glasgow", [digest], LINKS)
    assert held.held


def test_only_active_managers_with_an_address_hear_of_new_referrals_urgent_ones_marked():
    gone = {**MANAGER, "_id": "s-3", "active": False}
    no_email = {**MANAGER, "_id": "s-4", "email": None}
    staff = [MANAGER, COORDINATOR, gone, no_email]
    (told,) = rules.new_referral_messages(REFERRAL, "c-1", "Glasgow", staff, LINKS)
    assert told.address == "m@example.org"
    rendered = templates.check(KINDS["new_referral"]).render(told.values)
    assert rendered.subject.startswith("Urgent: ")
    routine = {**REFERRAL, "urgency": "routine"}
    (told,) = rules.new_referral_messages(routine, "c-1", "Glasgow", staff, LINKS)
    assert (
        not templates.check(KINDS["new_referral"]).render(told.values).subject.startswith("Urgent")
    )


def test_no_kind_of_message_is_ever_addressed_to_a_family():
    assert {kind.audience for kind in KINDS.values()} == {
        "referrer",
        "partner",
        "manager",
        "coordinator",
        "staff",
    }


def test_one_event_recipient_and_channel_make_one_message_id():
    intent = rules.Intent("referral_received", "email", "referrer:r-1", "a@example.org")
    assert intent.message_id("ev-1") == intent.message_id("ev-1")
    assert intent.message_id("ev-1") != intent.message_id("ev-2")
    webhook = rules.Intent("referral_received", "webhook", "endpoint:e-1", "e-1")
    assert webhook.message_id("ev-1") != intent.message_id("ev-1")


def test_waiting_more_than_five_working_days_counts_working_days_from_receipt():
    referrals = [
        {"_id": "late", "received_at": "2026-11-02T10:00:00+00:00"},  # a Monday
        {"_id": "recent", "received_at": "2026-11-06T10:00:00+00:00"},
        {"_id": "contacted", "received_at": "2026-10-01T10:00:00+00:00", "first_contact_at": "x"},
        {"_id": "declined", "received_at": "2026-10-01T10:00:00+00:00", "status": "declined"},
    ]
    assert rules.waiting_for_first_contact(referrals, date(2026, 11, 10)) == [("late", 6)]


def test_every_template_renders_both_parts_and_escapes_what_it_is_given():
    checked = templates.check_all()
    assert set(checked) == set(KINDS)
    values = {**templates.sample_values(KINDS["referral_declined"]), "reason": "<b>Out of area</b>"}
    rendered = checked["referral_declined"].render(values)
    assert "<b>Out of area</b>" in rendered.text
    assert "&lt;b&gt;Out of area&lt;/b&gt;" in rendered.html and "<b>" not in rendered.html
    assert '<html lang="en">' in rendered.html


def test_a_template_with_an_unknown_placeholder_fails_when_checked(tmp_path):
    for name in KINDS:
        (tmp_path / f"{name}.txt").write_text((templates.FOLDER / f"{name}.txt").read_text())
    (tmp_path / "referral_received.txt").write_text("Subject: Hello ((family_name))\n\nHi\n")
    with pytest.raises(templates.TemplateError, match="family_name"):
        templates.check_all(tmp_path)
    (tmp_path / "referral_received.txt").write_text("No subject line\n")
    with pytest.raises(templates.TemplateError, match="Subject"):
        templates.check_all(tmp_path)


def test_retry_delays_grow_with_jitter_and_honour_retry_after():
    rng = random.Random(7)
    delays = [next_delay(n, 30, None, rng) for n in range(1, 8)]
    assert all(later >= earlier for earlier, later in itertools.pairwise(delays))
    assert 15 <= delays[0] <= 30 and delays[-1] <= 6 * 3600
    assert next_delay(1, 30, 120, rng) >= 120
    assert next_delay(1, 30, 10**9, rng) == 24 * 3600


@pytest.mark.parametrize(
    "at, last_run, expected",
    [
        (datetime(2026, 11, 24, 7, 59, tzinfo=UTC), None, None),  # before 8 in London (GMT)
        (datetime(2026, 11, 24, 8, 0, tzinfo=UTC), None, "2026-11-24"),
        (datetime(2026, 11, 24, 9, 0, tzinfo=UTC), "2026-11-24", None),  # done today
        (datetime(2026, 7, 1, 7, 30, tzinfo=UTC), None, "2026-07-01"),  # 8:30 in summer time
        (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), "2026-07-01", None),  # 0:30, the next day
        (datetime(2026, 7, 2, 7, 0, tzinfo=UTC), "2026-07-01", "2026-07-02"),
    ],
)
def test_the_run_is_due_at_the_hour_uk_time_once_a_day(at, last_run, expected):
    last = datetime.fromisoformat(last_run).date() if last_run else None
    day = due(at, 8, last)
    assert (day.isoformat() if day else None) == expected


def test_a_cases_coordinator_hears_of_its_withdrawal_and_nobody_else():
    closed = {"case_id": "c-1", "referral_id": "r-1", "outcomes": ["withdrawn"]}
    theirs = {**REFERRAL, "coordinator_id": "s-2"}
    staff = {"s-1": MANAGER, "s-2": COORDINATOR}
    (told,) = rules.withdrawal_messages(closed, theirs, staff, LINKS)
    assert (told.kind, told.recipient, told.address) == (
        "case_withdrawn",
        "staff:s-2",
        "c@example.org",
    )
    rendered = templates.check(KINDS["case_withdrawn"]).render(told.values)
    assert "https://casework.example.org/cases/c-1" in rendered.text
    assert rules.withdrawal_messages(closed, REFERRAL, staff, LINKS) == []  # nobody had it
    worked = {**closed, "outcomes": ["needs_met"]}
    assert rules.withdrawal_messages(worked, theirs, staff, LINKS) == []


def test_a_case_closed_for_a_withdrawal_is_not_news_to_the_referrer_who_withdrew_it():
    # Intake keeps showing "withdrawn": a "closed" email or webhook would contradict it.
    closed = {
        "at": "2026-11-03T10:00:00+00:00",
        "case_id": "c-1",
        "referral_id": "r-1",
        "outcomes": ["withdrawn"],
        "outcome_for_referrer": "Withdrawn at your request.",
    }
    assert rules.referrer_messages("CaseClosed", closed, REFERRAL, PARTNER, [ENDPOINT], LINKS) == []
    needs_met = {**closed, "outcomes": ["needs_met"]}
    got = rules.referrer_messages("CaseClosed", needs_met, REFERRAL, PARTNER, [ENDPOINT], LINKS)
    assert [i.channel for i in got] == ["email", "webhook"]
