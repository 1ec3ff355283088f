from __future__ import annotations

import pytest

from backbone import mongo
from services.referral.app import create_app


@pytest.fixture
def referral_app(settings):
    return create_app(settings)


@pytest.fixture
def referral_db(settings):
    return mongo.database(settings, "referral")


@pytest.fixture
def partner_key(referral_app) -> str:
    _, key = referral_app.extensions["partners"].create("Routes out of Prison Glasgow")
    return key


@pytest.fixture
def client(referral_app):
    return referral_app.test_client()


@pytest.fixture
def auth(partner_key) -> dict[str, str]:
    return {"Authorization": f"Bearer {partner_key}"}
