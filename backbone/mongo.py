"""The MongoDB client: one per process, shared by its threads."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.database import Database

from backbone.settings import Settings


@cache
def client(uri: str) -> MongoClient:
    # tz_aware so that datetimes read back are UTC-aware, like the ones written.
    return MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5_000, appname="familyties")


def database(settings: Settings, service: str) -> Database:
    return client(settings.mongodb_uri)[settings.database_name(service)]


def in_transaction(db: Database, write: Callable[[ClientSession], Any]) -> Any:
    """Run `write` as one transaction, retried as the driver retries transient errors."""
    with db.client.start_session() as session:
        return session.with_transaction(write)
