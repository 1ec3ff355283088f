"""Production's database users (deploy/mongodb/init.js), on the local database with access
control on: a service's user, given to the code as MONGODB_USERNAME and MONGODB_PASSWORD,
reaches its own database and no other service's."""

import dataclasses

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from backbone import mongo
from backbone.settings import Secret, Settings
from tests import servers

PASSWORDS = {"referral": "referral-password-0123", "casework": "casework-password-4567"}
UNAUTHORIZED, AUTHENTICATION_FAILED = 13, 18


@pytest.fixture(scope="module")
def secured(tmp_path_factory, logs_dir):
    """A database holding a referral, whose users are made as deploy/mongodb/init.js makes
    them (in `admin`, readWrite on their service's database), restarted with --auth."""
    storage = tmp_path_factory.mktemp("secured-db")
    settings = Settings()
    with servers.database(storage, logs_dir) as (uri, _):
        client = MongoClient(uri)
        for service, password in PASSWORDS.items():
            roles = [{"role": "readWrite", "db": settings.database_name(service)}]
            client.admin.command("createUser", service, pwd=password, roles=roles)
        client[settings.database_name("referral")].referrals.insert_one({"_id": "r1"})
        client.close()
    with servers.database(storage, logs_dir, auth=True) as (uri, _):
        yield dataclasses.replace(
            settings, mongodb_uri=uri, mongodb_server_selection_timeout_ms=10_000
        )


def as_user(settings: Settings, user: str, password: str) -> Settings:
    return dataclasses.replace(settings, mongodb_username=user, mongodb_password=Secret(password))


def test_a_service_user_works_in_its_own_database(secured):
    db = mongo.database(as_user(secured, "casework", PASSWORDS["casework"]), "casework")
    mongo.in_transaction(db, lambda session: db.cases.insert_one({"_id": "c1"}, session=session))
    assert db.cases.find_one({"_id": "c1"}) == {"_id": "c1"}


def test_a_service_user_cannot_read_or_write_another_service_s_database(secured):
    casework = as_user(secured, "casework", PASSWORDS["casework"])
    referrals = mongo.database(casework, "referral").referrals
    with pytest.raises(OperationFailure) as refused:
        referrals.find_one({"_id": "r1"})
    assert refused.value.code == UNAUTHORIZED
    with pytest.raises(OperationFailure) as refused:
        referrals.insert_one({"_id": "forged"})
    assert refused.value.code == UNAUTHORIZED
    own = mongo.database(as_user(secured, "referral", PASSWORDS["referral"]), "referral")
    assert [doc["_id"] for doc in own.referrals.find()] == ["r1"]  # nothing forged


def test_without_the_right_password_nothing_is_read(secured):
    wrong = as_user(secured, "referral", "not-the-password-at-all")
    with pytest.raises(OperationFailure) as refused:
        mongo.database(wrong, "referral").referrals.find_one()
    assert refused.value.code == AUTHENTICATION_FAILED
    with pytest.raises(OperationFailure) as refused:
        mongo.database(secured, "referral").referrals.find_one()  # no login at all
    assert refused.value.code == UNAUTHORIZED
