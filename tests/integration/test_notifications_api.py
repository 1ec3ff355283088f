"""Notifications' partner API against the real database: partners use their intake key
(known here by its hash from PartnerChanged), see only their own endpoints, get the
signing secret once, and bad input is refused naming the field, with nothing stored."""

from __future__ import annotations

import dataclasses

import pytest

from backbone import mongo
from backbone.api_keys import hash_key
from backbone.clock import now
from backbone.sealing import Sealer
from services.notifications.app import create_app
from services.notifications.repository import Store

KEY_A, KEY_B = "ftk_partner-a-key-for-tests-only", "ftk_partner-b-key-for-tests-only"
TYPES = ["referral.received", "referral.closed"]


def names(host: str, port: int) -> list[str]:
    """The tests' resolver: partner.test is this machine; nothing is looked up."""
    return {"partner.test": ["127.0.0.1"], "intranet.test": ["10.1.2.3"]}.get(host, [])


@pytest.fixture
def store(settings):
    return Store(mongo.database(settings, "notifications"))


@pytest.fixture
def client(settings, store):
    app = create_app(dataclasses.replace(settings, webhook_allow_private_addresses=False), names)
    for partner_id, name, key in (("p-a", "Partner A", KEY_A), ("p-b", "Partner B", KEY_B)):
        data = {"partner_id": partner_id, "name": name, "api_key_hash": hash_key(key)}
        store.partners.keep({**data, "active": True, "at": now()}, None)
    return app.test_client()


def as_partner(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def local_client(settings, store):
    app = create_app(dataclasses.replace(settings, webhook_allow_private_addresses=True), names)
    data = {"partner_id": "p-a", "name": "Partner A", "api_key_hash": hash_key(KEY_A)}
    store.partners.keep({**data, "active": True, "at": now()}, None)
    data = {"partner_id": "p-b", "name": "Partner B", "api_key_hash": hash_key(KEY_B)}
    store.partners.keep({**data, "active": True, "at": now()}, None)
    return app.test_client()


def test_endpoints_are_the_partners_own_and_the_secret_is_shown_once(local_client, store, settings):
    made = local_client.post(
        "/v1/webhooks/endpoints",
        json={"url": "http://partner.test:9/hooks", "event_types": TYPES},
        headers=as_partner(KEY_A),
    )
    assert made.status_code == 201, made.get_json()
    endpoint = made.get_json()
    assert endpoint["secret"].startswith("whsec_") and endpoint["status"] == "active"

    listed = local_client.get("/v1/webhooks/endpoints", headers=as_partner(KEY_A)).get_json()
    assert [e["id"] for e in listed["items"]] == [endpoint["id"]]
    assert "secret" not in listed["items"][0] and "secrets" not in listed["items"][0]
    theirs = f"/v1/webhooks/endpoints/{endpoint['id']}"
    assert local_client.get(theirs, headers=as_partner(KEY_B)).status_code == 404
    assert local_client.delete(theirs, headers=as_partner(KEY_B)).status_code == 404
    assert local_client.post(f"{theirs}/secret", headers=as_partner(KEY_B)).status_code == 404
    assert local_client.get("/v1/webhooks/endpoints", headers=as_partner(KEY_B)).get_json() == {
        "items": []
    }

    rotated = local_client.post(f"{theirs}/secret", headers=as_partner(KEY_A)).get_json()
    stored = store.endpoints.find_one({"_id": endpoint["id"]})
    for clear in (endpoint["secret"], rotated["secret"], "whsec_"):
        assert clear not in repr(stored)  # sealed: a copy of the database does not give it
    secrets = stored["secrets"]
    opened = [Sealer.from_settings(settings).open(s["secret"]) for s in secrets]
    assert opened == [endpoint["secret"], rotated["secret"]]
    assert secrets[0]["expires_at"] is not None and secrets[1]["expires_at"] is None


@pytest.mark.parametrize(
    ("body", "pointer", "words"),
    [
        ({"url": "file:///etc/passwd", "event_types": TYPES}, "/url", "https"),
        ({"url": "gopher://partner.test/", "event_types": TYPES}, "/url", "https"),
        ({"url": "https://10.0.0.7/hooks", "event_types": TYPES}, "/url", "private"),
        ({"url": "https://169.254.169.254/latest", "event_types": TYPES}, "/url", "link-local"),
        ({"url": "https://127.0.0.1/hooks", "event_types": TYPES}, "/url", "loopback"),
        ({"url": "https://intranet.test/hooks", "event_types": TYPES}, "/url", "private"),
        ({"url": "https://partner.test/x", "event_types": ["case.gossip"]}, "/event_types/0", ""),
        ({"url": "https://partner.test/x", "event_types": []}, "/event_types", "at least one"),
        ({"event_types": TYPES}, "/url", ""),
    ],
)
def test_bad_endpoints_are_refused_naming_the_field_and_nothing_is_stored(
    client, store, body, pointer, words
):
    refused = client.post("/v1/webhooks/endpoints", json=body, headers=as_partner(KEY_A))
    problem = refused.get_json()
    assert refused.status_code == 422, problem
    assert refused.mimetype == "application/problem+json"
    pointers = {e["pointer"] for e in problem["errors"]}
    assert pointer in pointers, problem
    assert words.lower() in json_text(problem).lower()
    assert store.endpoints.count_documents({}) == 0


def json_text(problem: dict) -> str:
    return " ".join([problem.get("detail", ""), *(e["detail"] for e in problem["errors"])])


def test_without_a_current_key_nothing_is_answered_or_stored(client, store):
    body = {"url": "https://partner.test/x", "event_types": TYPES}
    missing = client.post("/v1/webhooks/endpoints", json=body)
    assert missing.status_code == 401 and "Bearer" in missing.headers["WWW-Authenticate"]
    wrong = client.post("/v1/webhooks/endpoints", json=body, headers=as_partner("ftk_nope"))
    assert wrong.status_code == 401
    store.partners.keep(
        {
            "partner_id": "p-a",
            "name": "A",
            "api_key_hash": hash_key(KEY_A),
            "active": False,
            "at": now(),
        },
        None,
    )
    revoked = client.get("/v1/webhooks/endpoints", headers=as_partner(KEY_A))
    assert revoked.status_code == 401
    assert store.endpoints.count_documents({}) == 0


def test_a_partner_names_the_address_for_its_organisations_messages(client, store):
    bad = client.put(
        "/v1/partner/contact", json={"email": "not-an-address"}, headers=as_partner(KEY_A)
    )
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["pointer"] == "/email"
    ok = client.put(
        "/v1/partner/contact", json={"email": "referrals@example.org"}, headers=as_partner(KEY_A)
    )
    assert ok.status_code == 200
    assert client.get("/v1/partner/contact", headers=as_partner(KEY_A)).get_json() == {
        "email": "referrals@example.org"
    }
    assert store.partners.by_id("p-b").get("contact_email") is None
