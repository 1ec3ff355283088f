"""Fixtures: the real servers, per-test settings, and synthetic referrals."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from cryptography.fernet import Fernet

from backbone.settings import Secret, Settings
from tests import servers
from tests.browser.chromium import chromium_page
from tests.mail_catcher import MailCatcher

# Seals stored secrets in every test's settings (made per run: none is kept in the files).
DATA_KEY = Fernet.generate_key().decode()


@pytest.fixture
def page():
    """A page in Debian's Chromium, for the browser tests (tests/browser/chromium.py)."""
    with chromium_page() as page:
        yield page


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="session")
def kafka_server(logs_dir):
    with servers.broker(logs_dir) as (bootstrap, process):
        yield bootstrap, process


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory, logs_dir):
    with servers.database(tmp_path_factory.mktemp("db"), logs_dir) as (uri, process):
        yield uri, process


@pytest.fixture(scope="session")
def mail_server(logs_dir):
    """A real mail server (MailDev), started on first use, once for the session."""
    with servers.mail_server(logs_dir) as (smtp_port, web_port, process):
        yield smtp_port, web_port, process


@pytest.fixture
def mail(mail_server) -> MailCatcher:
    """The session's mail server, emptied for this test. Send to it by giving a test's
    settings `smtp_port=mail.smtp_port`; read what it caught with `mail.emails()`."""
    catcher = MailCatcher(mail_server[0], mail_server[1])
    catcher.clear()
    return catcher


@pytest.fixture
def settings(kafka_server, mongo_server) -> Settings:
    """Settings for one test: its own databases on the shared servers."""
    return dataclasses.replace(
        Settings(),
        mongodb_uri=mongo_server[0],
        kafka_bootstrap_servers=kafka_server[0],
        database_prefix=f"t{uuid.uuid4().hex[:10]}_",
        outbox_poll_seconds=0.05,
        session_secret=Secret("a session secret for tests only"),
        data_keys=Secret(DATA_KEY),
    )
