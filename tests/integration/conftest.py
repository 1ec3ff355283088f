from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from backbone import mongo
from backbone.events.catalogue import topic_of
from backbone.events.envelope import Event, decode
from backbone.kafka import ensure_topics
from backbone.relay import OutboxRelay
from backbone.worker import event_log
from services.casework.app import create_app as create_casework_app
from services.cli import main, worker_plan
from services.directory.app import create_app as create_directory_app
from services.referral.app import create_app
from services.reporting.app import create_app as create_reporting_app
from tests.kafka_reader import read_topic


@pytest.fixture
def familyties(settings, monkeypatch):
    """Run the `familyties` command against this test's databases."""
    monkeypatch.setenv("MONGODB_URI", settings.mongodb_uri)
    monkeypatch.setenv("MONGODB_DATABASE_PREFIX", settings.database_prefix)
    monkeypatch.setenv("FAMILYTIES_DATA_KEYS", settings.data_keys.reveal())  # as the pages'
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def publish(settings):
    """Publish what a service's worker would (every collection of its plan's event log,
    through its outbox relay) to its topic, now."""

    def publish(service: str) -> None:
        topic = topic_of(service)
        ensure_topics(settings, [topic])
        relay = OutboxRelay(event_log(settings, worker_plan(service, settings)), settings, [topic])
        try:
            while relay.relay_once():
                pass
        finally:
            relay.close()

    return publish


@pytest.fixture
def published_about(settings):
    """The raw records of a service's topic about `subject`, once `expected` have come (and
    any more that follow within a second), and the events they carry."""

    def published_about(service: str, subject: str, expected: int) -> tuple[list, list[Event]]:
        records = read_topic(
            settings.kafka_bootstrap_servers,
            topic_of(service),
            lambda seen: sum(r.key == subject.encode() for r in seen) >= expected,
            settle=1,
        )
        about = [r for r in records if r.key == subject.encode()]
        return about, [decode(r.value) for r in about]

    return published_about


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


@pytest.fixture
def directory_app(settings):
    return create_directory_app(settings)


@pytest.fixture
def directory_client(directory_app):
    return directory_app.test_client()


@pytest.fixture
def directory(directory_app):
    return directory_app.extensions["directory"]


def editor_key(app, *roles: str) -> dict[str, str]:
    """The Authorization header of a new directory editor with these roles."""
    _, key = app.extensions["editors"].create("Directory Editor", roles=list(roles))
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def reporting_app(settings):
    return create_reporting_app(settings)


@pytest.fixture
def casework_app(settings):
    return create_casework_app(settings)


@pytest.fixture
def casework(casework_app):
    return casework_app.extensions["casework"]


def staff_key(app, username: str, role: str) -> tuple[dict, dict[str, str]]:
    """A new staff account and its Authorization header."""
    account, key = app.extensions["casework"].staff.create_account(
        username, username.replace(".", " ").title(), role, "correct horse battery"
    )
    return account, {"Authorization": f"Bearer {key}"}


def error_summary(html: str) -> list[str]:
    """The GOV.UK error summary's messages; each must link to an element of the page."""
    links = re.findall(r'<li>\s*<a href="#([^"]+)">([^<]+)</a>\s*</li>', html)
    assert [target for target, _ in links if f'id="{target}"' not in html] == []
    return [message.strip() for _, message in links]
