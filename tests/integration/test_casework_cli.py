"""`familyties casework staff ...` against the real database."""

from __future__ import annotations

import pytest

from backbone import mongo

PASSWORD = "correct horse battery"


@pytest.fixture
def cli(familyties):
    return lambda *args: familyties("casework", "staff", *args)


@pytest.fixture
def staff_collection(settings):
    return mongo.database(settings, "casework")["staff"]


def test_an_account_is_created_with_a_hashed_password_and_a_key_shown_once(
    cli, casework, staff_collection
):
    result = cli(
        "create",
        "Casey",
        "--name",
        "Casey Coordinator",
        "--role",
        "coordinator",
        "--password",
        PASSWORD,
    )
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    [stored] = staff_collection.find()
    assert stored["username"] == "casey"  # usernames are lower case
    assert stored["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in str(stored) and key not in str(stored)
    assert casework.staff.sign_in("casey", PASSWORD)["name"] == "Casey Coordinator"
    assert casework.staff.authenticate(key)["roles"] == ["coordinator"]
    assert "casey" in cli("list").output
    assert cli("revoke", stored["_id"]).exit_code == 0
    assert casework.staff.sign_in("casey", PASSWORD) is None
    assert cli("revoke", stored["_id"]).exit_code == 1  # already revoked


@pytest.mark.parametrize(
    "args",
    [
        ["create", "casey", "--name", "Casey", "--role", "coordinator", "--password", "short"],
        ["create", "c", "--name", "Casey", "--role", "coordinator", "--password", PASSWORD],
        ["create", "casey!", "--name", "Casey", "--role", "coordinator", "--password", PASSWORD],
        ["create", "casey", "--name", "Casey", "--role", "admin", "--password", PASSWORD],
        ["create", "casey", "--role", "coordinator", "--password", PASSWORD],
        ["create", "casey", "--name", "  ", "--role", "coordinator", "--password", PASSWORD],
    ],
)
def test_a_bad_account_is_refused_and_nothing_is_stored(cli, staff_collection, args):
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert staff_collection.count_documents({}) == 0
