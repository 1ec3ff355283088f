"""`familyties casework staff ...` against the real database."""

from __future__ import annotations

import pytest

from backbone import mongo, outbox
from services.cli import worker_plan

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
        "--api-key",
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


def test_without_api_key_an_account_has_no_key_anyone_knows(cli, staff_collection):
    # A key reaches the API without the pages' second factor: one only when asked for.
    result = cli(
        "create", "casey", "--name", "Casey", "--role", "coordinator", "--password", PASSWORD
    )
    assert result.exit_code == 0, result.output
    assert "API key" not in result.output
    assert result.output.strip().splitlines() == [
        f"Coordinator Casey created with id {staff_collection.find_one()['_id']}."
    ]


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


def create(cli, username: str, *extra: str):
    return cli(
        "create",
        username,
        "--name",
        f"{username.title()} Coordinator",
        "--role",
        "coordinator",
        *extra,
        "--password",
        PASSWORD,
    )


def test_staff_are_announced_when_added_when_their_email_changes_and_when_revoked(
    cli, staff_collection, publish, published_about
):
    created = create(cli, "casey", "--email", "casey.coordinator@example.org")
    assert created.exit_code == 0, created.output
    staff_id = staff_collection.find_one()["_id"]
    assert staff_collection.find_one()["email"] == "casey.coordinator@example.org"

    changed = cli("set-email", "Casey", "casey.c@example.org")
    assert changed.exit_code == 0, changed.output
    assert "casey.c@example.org" in changed.output
    assert cli("set-email", "casey", "casey.c@example.org").exit_code == 0  # no change
    assert cli("revoke", staff_id).exit_code == 0
    stored = staff_collection.find_one()
    assert stored["email"] == "casey.c@example.org"
    # Each written with its change, in the account's own log.
    assert [e["data"]["email"] for e in stored["events"]] == [
        "casey.coordinator@example.org",
        "casey.c@example.org",
        "casey.c@example.org",
    ]

    publish("casework")
    _, events = published_about("casework", staff_id, 3)
    assert [(e.type, e.source, e.subject) for e in events] == [
        ("StaffChanged", "/familyties/casework", staff_id)
    ] * 3
    assert [(e.data["email"], e.data["active"]) for e in events] == [
        ("casey.coordinator@example.org", True),
        ("casey.c@example.org", True),
        ("casey.c@example.org", False),
    ]
    for event in events:
        assert event.data["staff_id"] == staff_id
        assert event.data["name"] == "Casey Coordinator"
        assert event.data["roles"] == ["coordinator"]
    assert events[-1].data["at"] == stored["revoked_at"]


def test_an_account_without_an_email_address_is_announced_without_one(
    cli, staff_collection, publish, published_about
):
    assert create(cli, "robin").exit_code == 0
    stored = staff_collection.find_one()
    assert "email" not in stored
    publish("casework")
    _, [event] = published_about("casework", stored["_id"], 1)
    assert (event.type, event.data["email"], event.data["active"]) == ("StaffChanged", None, True)


BAD_ADDRESSES = [
    "casey",
    "casey@",
    "@example.org",
    "casey at example.org",
    "casey@example.org\nBcc: robin@example.org",
    "x" * 250 + "@example.org",
]


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_a_bad_email_address_is_refused_with_a_clear_message_and_nothing_is_stored(
    cli, staff_collection, address
):
    refused = create(cli, "casey", "--email", address)
    assert refused.exit_code == 2
    assert "Invalid value for '--email': give an email address such as" in refused.output
    assert staff_collection.count_documents({}) == 0

    assert create(cli, "casey", "--email", "casey@example.org").exit_code == 0
    refused = cli("set-email", "casey", address)
    assert refused.exit_code == 2
    assert "Invalid value for 'ADDRESS': give an email address such as" in refused.output
    [stored] = staff_collection.find()
    assert stored["email"] == "casey@example.org" and len(stored["events"]) == 1


def test_only_a_current_account_has_its_email_address_set(cli, staff_collection):
    missing = cli("set-email", "nobody", "nobody@example.org")
    assert missing.exit_code == 1 and "No active account has the username nobody" in missing.output
    assert create(cli, "casey").exit_code == 0
    staff_id = staff_collection.find_one()["_id"]
    assert cli("revoke", staff_id).exit_code == 0
    revoked = cli("set-email", "casey", "casey@example.org")
    assert revoked.exit_code == 1 and "No active account" in revoked.output
    stored = staff_collection.find_one()
    assert "email" not in stored and len(stored["events"]) == 2  # created, revoked


def test_the_worker_announces_staff_added_before_staff_were_announced_once(
    cli, settings, staff_collection, publish, published_about
):
    for username in ("casey", "robin"):
        assert create(cli, username).exit_code == 0
    revoked_id = staff_collection.find_one({"username": "robin"})["_id"]
    assert cli("revoke", revoked_id).exit_code == 0
    # As the accounts were stored before staff were announced: no event log at all.
    staff_collection.update_many({}, {"$unset": {"events": "", "outbox": "", "outbox_since": ""}})
    assert create(cli, "sam", "--email", "sam.coordinator@example.org").exit_code == 0
    before = {a["_id"]: a for a in staff_collection.find()}

    setup = worker_plan("casework", settings).setup
    setup()
    setup()  # and again, as a restarted worker does: nothing more

    logs = {a["_id"]: a["events"] for a in staff_collection.find()}
    assert {i: len(events) for i, events in logs.items()} == dict.fromkeys(before, 1)
    for staff_id, [event] in logs.items():
        assert event["type"] == "StaffChanged"
        assert event["data"]["active"] is (before[staff_id]["revoked_at"] is None)
    assert logs[revoked_id][0]["data"]["active"] is False

    publish("casework")
    for staff_id in before:
        _, events = published_about("casework", staff_id, 1)
        assert [e.type for e in events] == ["StaffChanged"]


def test_report_viewers_have_no_email_address_and_announce_nothing(familyties, settings):
    viewers = mongo.database(settings, "reporting").viewers
    account = ["--name", "Robin Manager", "--role", "manager", "--password", PASSWORD]
    with_email = familyties(
        "reporting", "viewers", "create", "robin", *account, "--email", "robin@example.org"
    )
    assert with_email.exit_code == 2 and "No such option '--email'" in with_email.output
    assert viewers.count_documents({}) == 0

    assert familyties("reporting", "viewers", "create", "robin", *account).exit_code == 0
    viewer_id = viewers.find_one()["_id"]
    assert familyties("reporting", "viewers", "revoke", viewer_id).exit_code == 0
    assert not any(field in viewers.find_one() for field in outbox.LOG_FIELDS)
    assert worker_plan("reporting", settings).event_log == []  # reporting publishes nothing
