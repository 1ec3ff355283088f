"""Fixtures: the real servers, per-test settings, and synthetic referrals."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from backbone.settings import Secret, Settings
from tests import servers


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
    )
