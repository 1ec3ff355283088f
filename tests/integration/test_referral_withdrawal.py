"""Withdrawing a referral through intake's API, against the real database: what partners
rely on, and how intake then follows the case casework closes for it."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from backbone import mongo
from backbone.clock import now
from backbone.events.catalogue import event_type as event_type_of
from backbone.events.envelope import decode, encode, new_event
from services.referral.handlers import handlers
from services.referral.repository import Referrals
from tests.factories import referral

MISTAKE = {"reason": "sent_by_mistake"}


def refer(client, auth) -> str:
    response = client.post("/v1/referrals", json=referral(), headers=auth)
    assert response.status_code == 201
    return response.get_json()["id"]


def withdraw(client, auth, referral_id: str, body):
    return client.post(f"/v1/referrals/{referral_id}/withdrawal", json=body, headers=auth)


def kept(referral_db, referral_id: str) -> tuple[str, int, list[str]]:
    """What a refused withdrawal must leave as it was: the status, the history, the events."""
    record = referral_db.referrals.find_one({"_id": referral_id})
    return (
        record["status"],
        len(record["status_history"]),
        [event["type"] for event in record["events"]],
    )


def test_a_partner_withdraws_its_referral_with_a_reason(client, auth, referral_db):
    referral_id = refer(client, auth)
    body = {"reason": "other", "details": "The family moved to Orkney."}
    response = withdraw(client, auth, referral_id, body)

    assert response.status_code == 200
    answer = response.get_json()
    assert answer["status"] == "withdrawn"
    last = answer["status_history"][-1]
    assert (last["status"], last["reason"], last["details"]) == (
        "withdrawn",
        "other",
        "The family moved to Orkney.",
    )
    assert last["by"] == {"kind": "api", "name": "Routes out of Prison Glasgow"}
    assert "withdrawn_at" not in answer and "outbox" not in answer
    assert client.get(f"/v1/referrals/{referral_id}", headers=auth).get_json() == answer

    record = referral_db.referrals.find_one({"_id": referral_id})
    event = record["outbox"][-1]
    assert (event["type"], event["subject"]) == ("ReferralWithdrawn", referral_id)
    assert decode(encode(event)).data["reason"] == "other"  # as casework will read it
    listed = client.get("/v1/referrals?status=withdrawn", headers=auth).get_json()
    assert [item["id"] for item in listed["items"]] == [referral_id]


BAD_WITHDRAWALS = {
    "no reason": ({}, "/reason", "Select why the referral is being withdrawn."),
    "an unknown reason": ({"reason": "bored"}, "/reason", "Select why"),
    "another reason, no details": ({"reason": "other"}, "/details", "Enter why"),
    "blank details for another": (
        {"reason": "other", "details": " \n "},
        "/details",
        "Enter why",
    ),
    "details too long": (
        {"reason": "other", "details": "x" * 1001},
        "/details",
        "1000 characters or fewer",
    ),
    "a field of its own": (
        {"reason": "sent_by_mistake", "status": "received"},
        "/status",
        "Unknown field",
    ),
}


@pytest.mark.parametrize("case", BAD_WITHDRAWALS, ids=list(BAD_WITHDRAWALS))
def test_a_bad_withdrawal_is_refused_naming_the_field_and_changes_nothing(
    client, auth, referral_db, case
):
    referral_id = refer(client, auth)
    before = kept(referral_db, referral_id)
    body, pointer, words = BAD_WITHDRAWALS[case]
    response = withdraw(client, auth, referral_id, body)

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    errors = {error["pointer"]: error["detail"] for error in response.get_json()["errors"]}
    assert words in errors[pointer]
    assert kept(referral_db, referral_id) == before == ("received", 1, ["ReferralReceived"])


def test_a_body_that_is_not_a_json_object_is_refused(client, auth, referral_db):
    referral_id = refer(client, auth)
    response = client.post(
        f"/v1/referrals/{referral_id}/withdrawal",
        data="reason=sent_by_mistake",
        headers=auth,
    )
    assert response.status_code == 415
    assert kept(referral_db, referral_id) == ("received", 1, ["ReferralReceived"])


def test_another_partners_referral_cannot_be_withdrawn_as_if_unknown(
    referral_app, client, auth, referral_db
):
    referral_id = refer(client, auth)
    _, other_key = referral_app.extensions["partners"].create("Lanarkshire Life Coaches")
    other = {"Authorization": f"Bearer {other_key}"}

    for target in (referral_id, "no-such-referral"):
        response = withdraw(client, other, target, MISTAKE)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
    assert kept(referral_db, referral_id) == ("received", 1, ["ReferralReceived"])


def test_a_referral_is_withdrawn_once_and_a_second_time_is_a_conflict(client, auth, referral_db):
    referral_id = refer(client, auth)
    first = withdraw(client, auth, referral_id, MISTAKE)
    assert first.status_code == 200
    retried = withdraw(client, auth, referral_id, MISTAKE)  # no answer came: sent again
    assert (retried.status_code, retried.get_json()) == (200, first.get_json())
    again = withdraw(client, auth, referral_id, {"reason": "family_changed_mind"})

    assert again.status_code == 409
    assert again.get_json()["detail"] == "This referral has already been withdrawn."
    assert kept(referral_db, referral_id) == (
        "withdrawn",
        2,
        ["ReferralReceived", "ReferralWithdrawn"],
    )


def follow(referral_db, event_type: str, data: dict) -> None:
    """Apply a case event as intake's consumer does: decoded, in a transaction."""
    envelope = new_event(event_type, event_type_of(event_type).source, data["case_id"], data)
    event = decode(encode(envelope))
    referrals = Referrals(referral_db)
    mongo.in_transaction(
        referral_db, lambda session: handlers(referrals)[event_type](event, session)
    )


def case_event(referral_id: str, at, **data) -> dict:
    return {"case_id": "c1", "referral_id": referral_id, "at": at.isoformat(), "by": "s1", **data}


def close_for_the_withdrawal(referral_db, referral_id: str, at) -> None:
    """Casework's CaseClosed for the withdrawal (MISTAKE), as intake's consumer takes it."""
    data = case_event(
        referral_id,
        at,
        outcomes=["withdrawn"],
        outcome_for_referrer="Withdrawn by the referrer: Sent by mistake.",
    )
    follow(referral_db, "CaseClosed", data)


def test_a_declined_or_closed_referral_can_no_longer_be_withdrawn(client, auth, referral_db):
    declined, closed = refer(client, auth), refer(client, auth)
    at = now()
    follow(referral_db, "CaseDeclined", case_event(declined, at, reason_for_referrer="Outside."))
    follow(
        referral_db,
        "CaseClosed",
        case_event(closed, at, outcomes=["needs_met"], outcome_for_referrer="Supported."),
    )
    for referral_id, words in [(declined, "declined"), (closed, "closed")]:
        response = withdraw(client, auth, referral_id, MISTAKE)
        assert response.status_code == 409
        assert words in response.get_json()["detail"]
        assert kept(referral_db, referral_id)[2] == ["ReferralReceived"]


def test_once_withdrawn_the_case_closed_for_it_leaves_the_referral_withdrawn(
    client, auth, referral_db
):
    referral_id = refer(client, auth)
    allocated_at = now()  # casework allocated the case just before the withdrawal ...
    withdraw(client, auth, referral_id, MISTAKE)
    # ... and intake hears of it after; then of the case closed for the withdrawal.
    follow(
        referral_db,
        "CaseAllocated",
        case_event(referral_id, allocated_at, coordinator_id="s2", reassigned=False),
    )
    close_for_the_withdrawal(referral_db, referral_id, now() + timedelta(seconds=1))

    record = referral_db.referrals.find_one({"_id": referral_id})
    assert record["status"] == "withdrawn"
    assert [change["status"] for change in record["status_history"]] == [
        "received",
        "allocated",
        "withdrawn",
    ]


@pytest.mark.parametrize("finished", ["before", "after"])  # the withdrawal, by the clocks
@pytest.mark.parametrize(
    ("event", "data", "status"),
    [
        ("CaseClosed", {"outcomes": ["needs_met"], "outcome_for_referrer": "Supported."}, "closed"),
        ("CaseDeclined", {"reason_for_referrer": "Outside our area."}, "declined"),
    ],
)
def test_a_case_finished_across_a_withdrawal_gives_the_referral_its_status(
    client, auth, referral_db, event, data, status, finished
):
    referral_id = refer(client, auth)
    assert withdraw(client, auth, referral_id, MISTAKE).status_code == 200
    # Casework finished the case before it heard of the withdrawal, so did not honour it,
    # whatever the two services' clocks say of which came first.
    record = referral_db.referrals.find_one({"_id": referral_id})
    received_at, withdrawn_at = record["received_at"], record["withdrawn_at"]
    finished_at = (
        received_at + (withdrawn_at - received_at) / 2
        if finished == "before"
        else now() + timedelta(seconds=1)
    ).replace(tzinfo=UTC)
    follow(referral_db, event, case_event(referral_id, finished_at, **data))

    answer = client.get(f"/v1/referrals/{referral_id}", headers=auth).get_json()
    assert answer["status"] == status
    history = [change["status"] for change in answer["status_history"]]
    assert history == (
        ["received", status, "withdrawn"]
        if finished == "before"
        else ["received", "withdrawn", status]
    )


def test_a_case_declined_then_reopened_and_closed_for_the_withdrawal_is_withdrawn(
    client, auth, referral_db
):
    referral_id = refer(client, auth)
    declined_at = now()
    reopened_at = declined_at + timedelta(milliseconds=1)
    assert withdraw(client, auth, referral_id, MISTAKE).status_code == 200
    # Intake hears late of a decline and a reopening, both before the withdrawal; casework
    # then honours the withdrawal, closing the reopened case for it.
    follow(
        referral_db, "CaseDeclined", case_event(referral_id, declined_at, reason_for_referrer="No.")
    )
    follow(referral_db, "CaseReopened", case_event(referral_id, reopened_at, status="allocated"))
    assert (
        client.get(f"/v1/referrals/{referral_id}", headers=auth).get_json()["status"] == "allocated"
    )
    close_for_the_withdrawal(referral_db, referral_id, now() + timedelta(seconds=1))
    answer = client.get(f"/v1/referrals/{referral_id}", headers=auth).get_json()
    assert answer["status"] == "withdrawn"
    assert [change["status"] for change in answer["status_history"]] == [
        "received",
        "declined",
        "allocated",
        "withdrawn",
    ]


def test_the_openapi_document_describes_withdrawing(client):
    document = client.get("/openapi.json").get_json()
    post = document["paths"]["/v1/referrals/{referral_id}/withdrawal"]["post"]
    assert {"200", "404", "409", "422"} <= set(post["responses"])
    body = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    withdrawal = document["components"]["schemas"][body.rsplit("/", 1)[-1]]
    assert withdrawal["properties"]["reason"]["enum"] == [
        "family_changed_mind",
        "sent_by_mistake",
        "other",
    ]
    status = document["paths"]["/v1/referrals"]["get"]["parameters"]
    assert "withdrawn" in next(p for p in status if p["name"] == "status")["schema"]["enum"]


def test_a_referral_withdrawn_before_its_case_opened_stays_withdrawn(client, auth, referral_db):
    referral_id = refer(client, auth)
    withdraw(client, auth, referral_id, MISTAKE)
    later = now() + timedelta(seconds=1)
    # Casework opens the case from the ReferralReceived, then closes it for the withdrawal.
    opened = case_event(
        referral_id,
        later,
        partner_id="p1",
        referring_team="GLASGOW",
        local_authority="GLASGOW_CITY",
        needs=["housing"],
    )
    follow(referral_db, "CaseOpened", opened)
    close_for_the_withdrawal(referral_db, referral_id, later)

    answer = client.get(f"/v1/referrals/{referral_id}", headers=auth).get_json()
    assert answer["status"] == "withdrawn"
    assert [change["status"] for change in answer["status_history"]] == ["received", "withdrawn"]
