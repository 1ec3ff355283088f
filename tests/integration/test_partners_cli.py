"""`familyties partners ...` against the real database."""

from __future__ import annotations

import pytest

from backbone import mongo
from backbone.api_keys import hash_key
from services.casework.app import create_app as create_casework_app
from services.cli import worker_plan
from services.directory.app import create_app as create_directory_app
from services.referral.app import create_app as create_referral_app
from services.referral.partners import Partners

APPS = {
    "referral": create_referral_app,
    "casework": create_casework_app,
    "directory": create_directory_app,
}


@pytest.fixture
def cli(familyties):
    return lambda *args: familyties("partners", *args)


def test_create_prints_the_key_once_and_stores_only_its_hash(cli, settings):
    result = cli("create", "Routes out of Prison Lanarkshire")
    assert result.exit_code == 0
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("ftk_") and len(key) > 40
    db = mongo.database(settings, "referral")
    [stored] = db.partners.find()
    assert stored["api_key_hash"] == hash_key(key)
    assert key not in str(stored)
    assert Partners(db).authenticate(key)["name"] == "Routes out of Prison Lanarkshire"

    listed = cli("list").output
    assert "Routes out of Prison Lanarkshire" in listed and "active" in listed
    assert key not in listed


def test_a_partner_is_announced_when_added_and_when_revoked_with_its_keys_hash_never_the_key(
    cli, settings, publish, published_about
):
    key = cli("create", "Routes out of Prison Inverclyde").output.strip().splitlines()[-1]
    partners = mongo.database(settings, "referral").partners
    partner_id = partners.find_one()["_id"]
    # Each written with its change: the new document carries the first, the revocation
    # appends the second.
    assert [e["data"]["active"] for e in partners.find_one()["events"]] == [True]
    assert cli("revoke", partner_id).exit_code == 0
    stored = partners.find_one()
    assert [e["data"]["active"] for e in stored["events"]] == [True, False]
    assert [e["id"] for e in stored["outbox"]] == [e["id"] for e in stored["events"]]

    publish("referral")
    records, events = published_about("referral", partner_id, 2)
    assert [(e.type, e.source, e.subject) for e in events] == [
        ("PartnerChanged", "/familyties/referral", partner_id)
    ] * 2
    assert [e.data["active"] for e in events] == [True, False]
    for event in events:
        assert event.data["partner_id"] == partner_id
        assert event.data["name"] == "Routes out of Prison Inverclyde"
        assert event.data["api_key_hash"] == hash_key(key)
    assert events[0].data["at"] == stored["created_at"]
    assert events[1].data["at"] == stored["revoked_at"]
    for record in records:  # the key itself never leaves the command that showed it
        assert key.encode() not in record.value
        assert key[len("ftk_") :].encode() not in record.value
    assert partners.find_one()["outbox"] == []


def test_the_worker_announces_partners_added_before_partners_were_announced_once(
    cli, settings, publish, published_about
):
    partners = mongo.database(settings, "referral").partners
    for name in ("Family contact officers", "Routes out of Prison Ayrshire"):
        assert cli("create", name).exit_code == 0
    revoked_id = partners.find_one({"name": "Family contact officers"})["_id"]
    assert cli("revoke", revoked_id).exit_code == 0
    # As the partners were stored before they were announced: no event log at all.
    partners.update_many({}, {"$unset": {"events": "", "outbox": "", "outbox_since": ""}})
    assert cli("create", "Routes out of Prison Glasgow").exit_code == 0  # announced already
    before = {p["_id"]: p for p in partners.find()}

    setup = worker_plan("referral", settings).setup
    setup()
    setup()  # and again, as a restarted worker does: nothing more

    logs = {p["_id"]: p["events"] for p in partners.find()}
    assert {i: len(events) for i, events in logs.items()} == dict.fromkeys(before, 1)
    for partner_id, [event] in logs.items():
        partner = before[partner_id]
        assert event["type"] == "PartnerChanged"
        assert event["data"]["active"] is (partner["revoked_at"] is None)
        assert event["data"]["api_key_hash"] == partner["api_key_hash"]
    assert logs[revoked_id][0]["data"]["active"] is False

    publish("referral")
    for partner_id in before:
        _, events = published_about("referral", partner_id, 1)
        assert [e.type for e in events] == ["PartnerChanged"]


def test_revoke_stops_the_key(cli, settings):
    key = cli("create", "Family contact officers").output.strip().splitlines()[-1]
    db = mongo.database(settings, "referral")
    partner_id = db.partners.find_one()["_id"]

    assert cli("revoke", partner_id).exit_code == 0
    assert Partners(db).authenticate(key) is None
    assert "revoked" in cli("list").output
    again = cli("revoke", partner_id)
    assert again.exit_code == 1 and "No active partner" in again.output


# (service, its key holders' command and collection, how one is made, a path a key opens)
HOLDERS = [
    ("referral", ["partners"], "partners", ["Revoked partner"], "/v1/referrals"),
    (
        "casework",
        ["casework", "staff"],
        "staff",
        [
            "rc01",
            "--name",
            "Ray Coordinator",
            "--role",
            "coordinator",
            "--api-key",
            "--password",
            "x" * 12,
        ],
        "/v1/cases",
    ),
    (
        "directory",
        ["directory", "editors"],
        "editors",
        ["Revoked editor", "--role", "editor"],
        "/metadata?resource_id=x",
    ),
]


@pytest.mark.parametrize(("service", "command", "collection", "create", "path"), HOLDERS)
def test_a_revoked_key_is_refused_at_once_by_every_process(
    familyties, settings, service, command, collection, create, path
):
    """Two web processes that have both just accepted a key refuse it on the very next
    request after `familyties ... revoke`: no process answers from a cache."""
    apps = [APPS[service](settings) for _ in range(2)]
    created = familyties(*command, "create", *create)
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {key}"}
    assert [app.test_client().get(path, headers=auth).status_code for app in apps] == [200] * 2

    holder_id = mongo.database(settings, service)[collection].find_one()["_id"]
    assert familyties(*command, "revoke", holder_id).exit_code == 0
    refused = [app.test_client().get(path, headers=auth) for app in apps]
    assert [r.status_code for r in refused] == [401, 401]
    assert refused[0].headers["WWW-Authenticate"] == f'Bearer realm="familyties-{service}"'


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_partner_needs_a_real_name_and_nothing_is_stored_without_one(cli, settings, name):
    result = cli("create", name)
    assert result.exit_code == 2
    assert "organisation's name" in result.output
    assert mongo.database(settings, "referral").partners.count_documents({}) == 0
