"""Intake's API against the real database: what partners rely on."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from backbone import outbox
from backbone.clock import today
from tests.factories import referral


def stored(referral_db) -> tuple[int, int]:
    """(referrals stored, events waiting in the outbox)."""
    return referral_db.referrals.count_documents({}), outbox.backlog([referral_db.referrals]).events


def test_a_referral_is_stored_with_its_event_and_can_be_read_back(client, auth, referral_db):
    response = client.post("/v1/referrals", json=referral(), headers=auth)

    assert response.status_code == 201
    created = response.get_json()
    assert created["status"] == "received"
    assert created["possible_duplicate"] is False
    assert response.headers["Location"] == f"/v1/referrals/{created['id']}"
    record = referral_db.referrals.find_one({"_id": created["id"]})
    [event] = record["outbox"]
    assert (event["type"], event["subject"]) == ("ReferralReceived", created["id"])
    assert event["data"]["family_member"]["name"] == "Jordan Example"
    assert event["data"]["consent"]["share_with_agencies"] is False

    detail = client.get(response.headers["Location"], headers=auth).get_json()
    assert detail["id"] == created["id"]
    assert detail["referral"]["family_member"]["local_authority"] == "GLASGOW_CITY"
    assert [change["status"] for change in detail["status_history"]] == ["received"]
    assert "outbox" not in detail and "match_keys" not in detail


def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer(client, auth, referral_db):
    headers = auth | {"Idempotency-Key": "7d1c2d4e-retry"}
    first = client.post("/v1/referrals", json=referral(), headers=headers)
    again = client.post("/v1/referrals", json=referral(), headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert stored(referral_db) == (1, 1)

    # Casework accepts it; a late retry still gets the first answer, as the README says.
    referral_db.referrals.update_one(
        {"_id": first.get_json()["id"]},
        {"$set": {"status": "accepted"}, "$push": {"status_history": {"status": "accepted"}}},
    )
    late = client.post("/v1/referrals", json=referral(), headers=headers)
    assert late.get_json() == first.get_json()
    assert late.get_json()["status"] == "received"


def test_the_same_idempotency_key_with_another_body_is_refused(client, auth, referral_db):
    headers = auth | {"Idempotency-Key": "7d1c2d4e-reuse"}
    assert client.post("/v1/referrals", json=referral(), headers=headers).status_code == 201
    response = client.post("/v1/referrals", json=referral(urgency="urgent"), headers=headers)

    assert response.status_code == 422
    assert response.get_json()["title"] == "Idempotency-Key already used"
    assert stored(referral_db) == (1, 1)


def test_idempotency_keys_belong_to_one_partner(referral_app, client, auth, referral_db):
    _, other_key = referral_app.extensions["partners"].create("Lanarkshire Life Coaches")
    key = {"Idempotency-Key": "shared-key-1"}
    assert client.post("/v1/referrals", json=referral(), headers=auth | key).status_code == 201
    other = client.post(
        "/v1/referrals", json=referral(1), headers={"Authorization": f"Bearer {other_key}"} | key
    )
    assert other.status_code == 201
    assert stored(referral_db) == (2, 2)


def test_a_partner_sees_only_its_own_referrals(referral_app, client, auth):
    _, other_key = referral_app.extensions["partners"].create("Lanarkshire Life Coaches")
    other = {"Authorization": f"Bearer {other_key}"}
    mine = client.post("/v1/referrals", json=referral(), headers=auth).get_json()["id"]
    theirs = client.post("/v1/referrals", json=referral(1), headers=other).get_json()["id"]

    assert client.get(f"/v1/referrals/{theirs}", headers=auth).status_code == 404
    assert client.get(f"/v1/referrals/{mine}", headers=other).status_code == 404
    listed = client.get("/v1/referrals", headers=auth).get_json()
    assert [item["id"] for item in listed["items"]] == [mine]


def test_the_list_pages_and_filters_by_status_and_referral_date(client, auth):
    day = today()
    for n in range(5):
        body = referral(n + 1, referred_on=(day - timedelta(days=10 * n)).isoformat())
        assert client.post("/v1/referrals", json=body, headers=auth).status_code == 201

    first = client.get("/v1/referrals?per_page=2", headers=auth).get_json()
    assert (first["total_items"], first["total_pages"], len(first["items"])) == (5, 3, 2)
    last = client.get("/v1/referrals?per_page=2&page=3", headers=auth).get_json()
    assert len(last["items"]) == 1
    seen = {
        i["id"]
        for p in (1, 2, 3)
        for i in client.get(f"/v1/referrals?per_page=2&page={p}", headers=auth).get_json()["items"]
    }
    assert len(seen) == 5

    since = (day - timedelta(days=15)).isoformat()
    recent = client.get(f"/v1/referrals?referred_from={since}", headers=auth).get_json()
    assert recent["total_items"] == 2
    window = f"referred_from={day - timedelta(days=35)}&referred_to={day - timedelta(days=15)}"
    assert client.get(f"/v1/referrals?{window}", headers=auth).get_json()["total_items"] == 2
    assert client.get("/v1/referrals?status=received", headers=auth).get_json()["total_items"] == 5
    assert client.get("/v1/referrals?status=closed", headers=auth).get_json()["total_items"] == 0


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        f"page={10**20}",
        "per_page=500",
        "status=lost",
        "referred_from=yesterday",
        "colour=red",
    ],
)
def test_bad_list_queries_are_refused(client, auth, query):
    response = client.get(f"/v1/referrals?{query}", headers=auth)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["pointer"] == "/" + query.split("=")[0]


def test_a_possible_duplicate_is_accepted_and_flagged(referral_app, client, auth, referral_db):
    first = client.post("/v1/referrals", json=referral(), headers=auth).get_json()
    # The same person again, by name and date of birth, spelled differently.
    by_name = referral(2)
    by_name["family_member"].update(name="jordan EXAMPLE", date_of_birth="1986-04-12")
    response = client.post("/v1/referrals", json=by_name, headers=auth)
    assert response.status_code == 201
    assert response.get_json()["possible_duplicate"] is True
    record = referral_db.referrals.find_one({"_id": response.get_json()["id"]})
    assert record["possible_duplicate_of"] == [first["id"]]
    assert record["outbox"][0]["data"]["possible_duplicate_of"] == [first["id"]]
    detail = client.get(f"/v1/referrals/{record['_id']}", headers=auth).get_json()
    assert detail["possible_duplicate"] is True


def test_another_partners_referral_is_flagged_for_casework_but_not_told_to_the_partner(
    referral_app, client, auth, referral_db
):
    first = client.post("/v1/referrals", json=referral(), headers=auth).get_json()
    _, other_key = referral_app.extensions["partners"].create("Family contact officers")
    other = {"Authorization": f"Bearer {other_key}"}
    by_phone = referral(1)
    by_phone["family_member"]["contact"]["phone"] = "+44 141 496 0123"
    response = client.post("/v1/referrals", json=by_phone, headers=other)

    assert response.status_code == 201
    assert response.get_json()["possible_duplicate"] is False  # nothing leaks between partners
    record = referral_db.referrals.find_one({"_id": response.get_json()["id"]})
    assert record["outbox"][0]["data"]["possible_duplicate_of"] == [first["id"]]  # casework sees
    listed = client.get("/v1/referrals", headers=other).get_json()["items"]
    assert [item["possible_duplicate"] for item in listed] == [False]


def test_referrals_more_than_thirty_days_apart_are_not_duplicates(client, auth):
    old = referral(referred_on=(today() - timedelta(days=45)).isoformat())
    client.post("/v1/referrals", json=old, headers=auth)
    response = client.post("/v1/referrals", json=referral(), headers=auth)
    assert response.get_json()["possible_duplicate"] is False


BAD_BODIES = {
    "malformed JSON": (b'{"referrer": ', 400, "/"),
    "a JSON list": (b"[]", 400, "/"),
    "wrong types": ({"children__number": "two"}, 422, "/children/number"),
    "unknown field": ({"favourite_colour": "blue"}, 422, "/favourite_colour"),
    "no consent": ({"consent__referral": False}, 422, "/consent/referral"),
    "future referral date": ({"referred_on": "2999-01-01"}, 422, "/referred_on"),
    "ancient referral date": ({"referred_on": "0001-01-02"}, 422, "/referred_on"),
    "nested beyond reason": (b"[" * 100_000 + b"]" * 100_000, 400, "/"),
    "a lone surrogate": (
        json.dumps(referral(family_member__name="Jordan \ud800")).encode(),
        422,
        "/family_member/name",
    ),
    "a key given twice": (
        json.dumps(referral())[:-1].encode() + b', "urgency": "urgent"}',
        400,
        "/",
    ),
    "control characters": ({"family_member__name": "Jordan\x1b[31m"}, 422, "/family_member/name"),
    "blank text": ({"reason": " \t "}, 422, "/reason"),
    "a trailing newline": ({"referrer__phone": "0141 496 0001\n"}, 422, "/referrer/phone"),
}


@pytest.mark.parametrize("case", BAD_BODIES, ids=list(BAD_BODIES))
def test_bad_input_is_refused_clearly_and_changes_nothing(client, auth, referral_db, case):
    body, status, pointer = BAD_BODIES[case]
    if isinstance(body, dict):
        response = client.post("/v1/referrals", json=referral(**body), headers=auth)
    else:
        response = client.post(
            "/v1/referrals", data=body, headers=auth | {"Content-Type": "application/json"}
        )
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status
    if status == 422:
        assert pointer in [error["pointer"] for error in problem["errors"]]
    assert stored(referral_db) == (0, 0)


def test_a_body_over_one_mebibyte_is_refused(client, auth, referral_db):
    huge = referral(reason="x" * (1024 * 1024))
    response = client.post("/v1/referrals", json=huge, headers=auth)
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert stored(referral_db) == (0, 0)


def test_a_body_that_is_not_json_is_refused(client, auth, referral_db):
    response = client.post("/v1/referrals", data="name=Jordan", headers=auth)
    assert response.status_code == 415
    assert stored(referral_db) == (0, 0)


def test_a_bad_idempotency_key_is_refused(client, auth, referral_db):
    response = client.post(
        "/v1/referrals", json=referral(), headers=auth | {"Idempotency-Key": "x" * 300}
    )
    assert response.status_code == 400
    assert stored(referral_db) == (0, 0)


@pytest.mark.parametrize(
    "authorization", [None, "Bearer ", "Bearer ftk_not-a-real-key", "Basic dXNlcjpwYXNz"]
)
def test_without_a_current_key_nothing_is_answered_or_stored(client, referral_db, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.post("/v1/referrals", json=referral(), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/v1/referrals", headers=headers).status_code == 401
    assert stored(referral_db) == (0, 0)


def test_a_revoked_key_is_refused(referral_app, client, referral_db):
    partner, key = referral_app.extensions["partners"].create("Former partner")
    auth = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/referrals", headers=auth).status_code == 200
    referral_app.extensions["partners"].revoke(partner["_id"])
    assert client.post("/v1/referrals", json=referral(), headers=auth).status_code == 401
    assert stored(referral_db) == (0, 0)


def test_the_openapi_document_describes_the_referral_api(client):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    post = document["paths"]["/v1/referrals"]["post"]
    assert "201" in post["responses"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert client.get("/docs").status_code == 200
