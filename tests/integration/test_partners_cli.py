"""`familyties partners ...` against the real database."""

from __future__ import annotations

import pytest

from backbone import mongo
from backbone.api_keys import hash_key
from services.casework.app import create_app as create_casework_app
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
        ["rc01", "--name", "Ray Coordinator", "--role", "coordinator", "--password", "x" * 12],
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
