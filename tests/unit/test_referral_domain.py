"""Intake's rules: who counts as the same family member, what counts as the same request."""

from datetime import UTC, date, datetime

from backbone.events.referral import (
    ReferralReceivedSchema,
    ReferralSchema,
    ReferralWithdrawnSchema,
)
from services.referral import domain
from tests.factories import referral

NO_DUPLICATES = domain.Duplicates([], [], [])


def family_member(**fields):
    return {"name": "Jordan Example", "contact": {}, **fields}


def test_names_match_whatever_their_case_accents_spaces_and_punctuation():
    assert domain.normalise_name("  Jo-Anne   O'Néill ") == domain.normalise_name("joanne oneill")
    assert domain.normalise_name("Jo Anne") != domain.normalise_name("Joanne")


def test_names_in_other_scripts_keep_their_letters():
    assert domain.normalise_name("Мария Иванова") == "мария иванова"
    assert domain.normalise_name("محمد") != domain.normalise_name("Мария")
    born = {"date_of_birth": "1990-01-01"}
    assert domain.match_keys(family_member(name="محمد", **born)) != domain.match_keys(
        family_member(name="Мария", **born)
    )
    assert domain.match_keys(family_member(name="!!!", **born)) == []  # nothing to match on


def test_phone_numbers_match_in_national_and_international_form():
    assert domain.normalise_phone("+44 141 496 0000") == domain.normalise_phone("0141 4960000")
    assert domain.normalise_phone("(0141) 496-0000") == "01414960000"


def test_match_keys_are_name_with_birth_date_and_phone_hashed():
    keys = domain.match_keys(
        family_member(date_of_birth="1986-04-12", contact={"phone": "0141 496 0123"})
    )
    assert [key.split(":")[0] for key in keys] == ["name_dob", "phone"]
    assert not any("Jordan" in key or "0123" in key for key in keys)
    same_person = domain.match_keys(
        family_member(
            name="JORDAN  EXAMPLE", date_of_birth="1986-04-12", contact={"phone": "+441414960123"}
        )
    )
    assert keys == same_person


def test_a_name_alone_is_not_enough_to_match():
    assert domain.match_keys(family_member()) == []


def test_the_duplicate_window_is_thirty_days_either_side():
    assert domain.duplicate_window(date(2026, 3, 31)) == ("2026-03-01", "2026-04-30")


def test_the_same_body_has_the_same_fingerprint_whatever_its_key_order():
    assert domain.fingerprint({"a": 1, "b": [1, 2]}) == domain.fingerprint({"b": [1, 2], "a": 1})
    assert domain.fingerprint({"a": 1}) != domain.fingerprint({"a": 2})


def test_duplicates_are_within_thirty_days_and_a_partner_is_told_only_of_its_own():
    candidates = [
        {"_id": "mine", "partner_id": "p1", "referred_on": "2026-03-10"},
        {"_id": "theirs", "partner_id": "p2", "referred_on": "2026-04-20"},
        {"_id": "too-old", "partner_id": "p1", "referred_on": "2026-02-01"},
    ]
    found = domain.find_duplicates(["k"], date(2026, 3, 31), "p1", candidates)
    assert found.referral_ids == ["mine", "theirs"]
    assert found.own_referral_ids == ["mine"]


def test_a_new_record_is_received_and_carries_a_valid_referral_received():
    body = ReferralSchema().dump(ReferralSchema().load(referral()))
    received_at = datetime(2026, 1, 6, 10, 30, tzinfo=UTC)
    duplicates = domain.Duplicates(["k"], ["r0"], [])
    record = domain.referral_record(
        "r1", {"_id": "p1", "name": "Partner"}, body, received_at, duplicates, "key-1", "print"
    )
    assert record["status"] == "received"
    assert record["status_history"] == [{"status": "received", "at": received_at}]
    assert record["idempotency_key"] == "key-1"
    data = domain.referral_received_data(record)
    assert ReferralReceivedSchema().validate(data) == {}
    assert data["possible_duplicate_of"] == ["r0"]
    assert data["received_at"] == "2026-01-06T10:30:00+00:00"


def test_a_record_without_idempotency_key_has_no_such_field():
    body = ReferralSchema().dump(ReferralSchema().load(referral()))
    record = domain.referral_record(
        "r1", {"_id": "p1", "name": "P"}, body, datetime.now(UTC), NO_DUPLICATES, None, "print"
    )
    assert "idempotency_key" not in record  # the unique index is partial on its presence


def test_the_referrer_sees_casework_as_statuses_with_words_meant_for_them():
    at = "2026-11-20T10:00:00+00:00"
    view = domain.referrer_view
    assert view("CaseOpened", {"at": at}) == {"status": "accepted", "at": at}
    assert view("CaseAllocated", {"at": at, "reassigned": False})["status"] == "allocated"
    assert view("CaseAllocated", {"at": at, "reassigned": True}) is None  # nothing new to them
    assert view("CaseDeclined", {"at": at, "reason_for_referrer": "Out of area."}) == {
        "status": "declined",
        "at": at,
        "reason": "Out of area.",
    }
    closed = {"at": at, "outcomes": ["needs_met"], "outcome_for_referrer": "Needs met."}
    assert view("CaseClosed", closed)["outcome"] == "Needs met."
    # Closed for the referrer's own withdrawal: whatever the two services' clocks say, it
    # never shows as a closing before the withdrawal.
    assert view("CaseClosed", {**closed, "outcomes": ["withdrawn"]}) is None
    assert view("CaseReopened", {"at": at, "status": "open"})["status"] == "accepted"
    assert view("ContactRecorded", {"at": at}) is None  # case notes are not theirs to see


def withdrawable(status: str) -> dict:
    return {"_id": "r1", "partner_id": "p1", "status": status}


AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
BY = {"kind": "user", "name": "Morgan Testperson"}


def test_a_referral_can_be_withdrawn_until_casework_has_finished_with_it():
    for status in ("received", "accepted", "allocated"):
        change = domain.withdraw(withdrawable(status), {"reason": "sent_by_mistake"}, BY, AT)
        assert change.status_read == status
        assert change.history_entry == {
            "status": "withdrawn",
            "at": AT,
            "reason": "sent_by_mistake",
            "by": BY,
        }


def test_a_withdrawn_declined_or_closed_referral_cannot_be_withdrawn():
    for status, words in [
        ("withdrawn", "already been withdrawn"),
        ("declined", "was declined"),
        ("closed", "case is closed"),
    ]:
        try:
            domain.withdraw(withdrawable(status), {"reason": "sent_by_mistake"}, BY, AT)
        except domain.CannotWithdraw as refused:
            assert refused.status == 409 and words in refused.detail
        else:
            raise AssertionError(f"a {status} referral was withdrawn")


def test_the_withdrawal_event_carries_the_reason_details_and_who_but_nothing_more():
    withdrawal = {"reason": "other", "details": "The family moved to Orkney."}
    who = {"kind": "user", "name": "Morgan Testperson", "email": "morgan@example.org"}
    data = domain.withdraw(withdrawable("accepted"), withdrawal, who, AT).event_data
    assert ReferralWithdrawnSchema().validate(data) == {}
    assert data == {
        "referral_id": "r1",
        "partner_id": "p1",
        "reason": "other",
        "details": "The family moved to Orkney.",
        "withdrawn_by": BY,
        "at": "2026-03-02T10:30:00+00:00",
    }
