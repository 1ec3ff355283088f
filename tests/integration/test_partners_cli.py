"""`familyties partners ...` against the real database."""

from __future__ import annotations

import time

import pytest

from backbone import mongo
from backbone.api_keys import hash_key
from services.referral.partners import Partners


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


def test_a_cached_key_stops_working_within_the_cache_time(settings):
    db = mongo.database(settings, "referral")
    partners = Partners(db, cache_seconds=1.0)
    partner, key = partners.create("Cached partner")
    assert partners.authenticate(key) is not None
    partners.revoke(partner["_id"])
    assert partners.authenticate(key) is not None  # answered from memory for a moment
    time.sleep(1.1)
    assert partners.authenticate(key) is None


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_partner_needs_a_real_name_and_nothing_is_stored_without_one(cli, settings, name):
    result = cli("create", name)
    assert result.exit_code == 2
    assert "organisation's name" in result.output
    assert mongo.database(settings, "referral").partners.count_documents({}) == 0
