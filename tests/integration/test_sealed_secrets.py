"""Secrets the services must read back are sealed in the database (backbone.sealing): the
documents as MongoDB holds them, read with pymongo directly, never show a partner user's
TOTP secret or a webhook signing secret, and signing in and signing webhooks still work;
secrets stored in clear before still work and are sealed when next written."""

from __future__ import annotations

import dataclasses
import json
import re

import pymongo
import pytest
from cryptography.fernet import Fernet
from standardwebhooks.webhooks import Webhook

from backbone.api_keys import hash_key
from backbone.clock import now
from backbone.ids import new_id
from backbone.sealing import Sealer, SealingError, is_sealed
from backbone.second_factor import SecondFactors, new_secret
from backbone.settings import Secret
from services.notifications.app import create_app as create_notifications_app
from services.notifications.channels import WebhookChannel
from services.notifications.repository import Store
from services.referral.app import create_app as create_referral_app
from services.referral.partner_users import ISSUER
from tests import webhook_receiver
from tests.integration.partner_site import (
    BASE,
    app_code,
    browser,
    partner_with_users,
    post_form,
    user_with_second_factor,
)

REFERRER = "morgan.lifecoach@paisley.example"
PARTNER_KEY = "ftk_partner-key-for-sealing-tests-only"


def raw_documents(settings, service: str, collection: str) -> list[dict]:
    """The collection's documents as the database holds them, as a backup would copy them."""
    with pymongo.MongoClient(settings.mongodb_uri) as client:
        return list(client[settings.database_name(service)][collection].find())


def shows(documents: list[dict], *clear: str) -> bool:
    return any(secret in repr(document) for document in documents for secret in clear)


# ---- partner users' second factor ----------------------------------------------------------


def referral_site(settings, data_keys: str | None = None):
    keys = {"data_keys": Secret(data_keys)} if data_keys else {}
    app = create_referral_app(dataclasses.replace(settings, public_urls={"referral": BASE}, **keys))
    return app


@pytest.fixture
def site(settings):
    app = referral_site(settings)
    people = partner_with_users(app, "Paisley Family Contact", (REFERRER, "Morgan Lc", "referrer"))
    return {"app": app, "partner": people["partner"], "user": people["users"][0]}


def _secret_shown(html: str) -> str:
    return re.search(r'id="secret"><code>([A-Z2-7 ]+)</code>', html).group(1).replace(" ", "")


def test_a_second_factor_set_up_on_the_pages_is_stored_sealed_and_signs_in(site, settings):
    client = browser(site["app"], REFERRER)
    page = client.get(f"{BASE}/second-factor/set-up").get_data(as_text=True)
    secret = _secret_shown(page)
    waiting = raw_documents(settings, "referral", "partner_second_factors")
    assert len(waiting) == 1 and not shows(waiting, secret)
    # Reloading the page shows the same secret, opened from what is stored.
    again = client.get(f"{BASE}/second-factor/set-up").get_data(as_text=True)
    assert _secret_shown(again) == secret

    done = post_form(client, "/second-factor/set-up", {"code": app_code(secret)})
    assert done.status_code == 200
    stored = raw_documents(settings, "referral", "partner_second_factors")
    assert not shows(stored, secret)
    assert is_sealed(stored[0]["secret"]) and "pending_secret" not in stored[0]

    later = browser(site["app"], REFERRER, secret, steps_ahead=1)  # password, then code
    assert later.get(f"{BASE}/account").status_code == 200


def test_a_second_factor_stored_in_clear_before_still_signs_in_and_is_sealed_then(site, settings):
    secret = new_secret()
    with pymongo.MongoClient(settings.mongodb_uri) as client:
        client[settings.database_name("referral")].partner_second_factors.insert_one(
            {
                "_id": site["user"]["_id"],
                "secret": secret,
                "last_step": -1,
                "recovery_hashes": [],
                "set_up_at": now(),
            }
        )
    assert shows(raw_documents(settings, "referral", "partner_second_factors"), secret)

    signed_in = browser(site["app"], REFERRER, secret)
    assert signed_in.get(f"{BASE}/account").status_code == 200
    stored = raw_documents(settings, "referral", "partner_second_factors")
    assert not shows(stored, secret) and is_sealed(stored[0]["secret"])
    assert browser(site["app"], REFERRER, secret, steps_ahead=1)  # and it opens


def test_after_a_new_key_is_put_first_the_old_keys_factors_sign_in_and_are_resealed(
    settings,
):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = referral_site(settings, old)
    partner, _ = before.extensions["partners"].create("Paisley Family Contact")
    factor = user_with_second_factor(before, partner["_id"], REFERRER, "Morgan Lc", "referrer")

    rotated = referral_site(settings, f"{new},{old}")
    assert browser(rotated, REFERRER, factor["secret"]).get(f"{BASE}/account").status_code == 200
    stored = raw_documents(settings, "referral", "partner_second_factors")[0]["secret"]
    assert Sealer([new]).open(stored) == factor["secret"]  # the old key is no longer needed


def test_a_second_factor_no_key_opens_fails_naming_the_setting(site, settings):
    factor = user_with_second_factor(
        site["app"], site["partner"]["_id"], "sam.referrer@paisley.example", "Sam R", "referrer"
    )
    with pymongo.MongoClient(settings.mongodb_uri) as client:
        collection = client[settings.database_name("referral")].partner_second_factors
        wrong_key = Sealer([Fernet.generate_key().decode()])
        with pytest.raises(SealingError, match="FAMILYTIES_DATA_KEYS"):
            SecondFactors(collection, ISSUER, wrong_key).use_code(
                factor["user"]["_id"], app_code(factor["secret"])
            )


# ---- webhook signing secrets ---------------------------------------------------------------


def names(host: str, port: int) -> list[str]:
    """The tests' resolver: partner.test is this machine; nothing is looked up."""
    return {"partner.test": ["127.0.0.1"]}.get(host, [])


@pytest.fixture
def local_settings(settings):
    return dataclasses.replace(settings, webhook_allow_private_addresses=True)


@pytest.fixture
def store(local_settings):
    app = create_notifications_app(local_settings, names)
    data = {"partner_id": "p-a", "name": "Partner A", "api_key_hash": hash_key(PARTNER_KEY)}
    app.extensions["store"].partners.keep({**data, "active": True, "at": now()}, None)
    store: Store = app.extensions["store"]
    store.client = app.test_client()  # the partner's API, beside the store
    return store


@pytest.fixture
def receiver():
    receiver = webhook_receiver.start()
    yield receiver
    receiver.server.shutdown()


def api(store, method: str, path: str, body: dict | None = None) -> dict:
    answer = store.client.open(
        f"/v1/webhooks{path}",
        method=method,
        json=body,
        headers={"Authorization": f"Bearer {PARTNER_KEY}"},
    )
    assert answer.status_code in (200, 201), answer.get_json()
    return answer.get_json()


def signed_delivery(local_settings, store, receiver, endpoint_id: str) -> tuple:
    """A webhook sent to the endpoint as the worker sends one: (the call received, body)."""
    body = json.dumps({"type": "referral.received", "data": {"referral_id": new_id()}})
    message = {"_id": new_id(), "address": endpoint_id, "webhook": {"body": body}}
    outcome = WebhookChannel(local_settings, store.endpoints, names).send(message)
    assert outcome.delivered, outcome
    return receiver.calls[-1], body


def test_webhook_secrets_are_stored_sealed_and_still_sign(local_settings, store, receiver):
    url = f"http://partner.test:{receiver.server.server_address[1]}/hooks"
    made = api(store, "POST", "/endpoints", {"url": url, "event_types": ["referral.received"]})
    rotated = api(store, "POST", f"/endpoints/{made['id']}/secret")

    stored = raw_documents(local_settings, "notifications", "endpoints")
    assert len(stored) == 1 and len(stored[0]["secrets"]) == 2
    assert not shows(stored, made["secret"], rotated["secret"], "whsec_")

    call, body = signed_delivery(local_settings, store, receiver, made["id"])
    for secret in (made["secret"], rotated["secret"]):  # both sign while the old one lasts
        assert Webhook(secret).verify(call.body, call.headers) == json.loads(body)


def test_a_webhook_secret_stored_in_clear_before_still_signs_and_is_sealed_on_rotation(
    local_settings, store, receiver
):
    secret = "whsec_" + "c2VhbGluZyB0ZXN0cyBvbmx5ISEhISEh"
    url = f"http://partner.test:{receiver.server.server_address[1]}/hooks"
    endpoint_id = new_id()
    store.endpoints.insert_one(
        {
            "_id": endpoint_id,
            "partner_id": "p-a",
            "url": url,
            "event_types": ["referral.received"],
            "description": "",
            "status": "active",
            "created_at": now(),
            "secrets": [{"secret": secret, "created_at": now(), "expires_at": None}],
        }
    )
    call, _ = signed_delivery(local_settings, store, receiver, endpoint_id)
    Webhook(secret).verify(call.body, call.headers)

    rotated = api(store, "POST", f"/endpoints/{endpoint_id}/secret")
    stored = raw_documents(local_settings, "notifications", "endpoints")
    assert not shows(stored, secret, rotated["secret"], "whsec_")
    call, _ = signed_delivery(local_settings, store, receiver, endpoint_id)
    for each in (secret, rotated["secret"]):
        Webhook(each).verify(call.body, call.headers)


def test_a_webhook_whose_secret_no_key_opens_is_not_sent_and_is_tried_again(
    local_settings, store, receiver
):
    url = f"http://partner.test:{receiver.server.server_address[1]}/hooks"
    made = api(store, "POST", "/endpoints", {"url": url, "event_types": ["referral.received"]})
    wrong = dataclasses.replace(local_settings, data_keys=Secret(Fernet.generate_key().decode()))
    message = {"_id": new_id(), "address": made["id"], "webhook": {"body": "{}"}}
    outcome = WebhookChannel(wrong, store.endpoints, names).send(message)
    assert (outcome.delivered, outcome.retryable) == (False, True)
    assert "FAMILYTIES_DATA_KEYS" in outcome.error
    assert receiver.calls == []  # never sent unsigned
