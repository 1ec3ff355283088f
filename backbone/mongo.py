"""The MongoDB client: one per process, shared by its threads."""

from __future__ import annotations

from functools import cache

from pymongo import MongoClient
from pymongo.database import Database

from backbone.settings import Settings


@cache
def client(uri: str) -> MongoClient:
    # tz_aware so that datetimes read back are UTC-aware, like the ones written.
    return MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5_000, appname="familyties")


def database(settings: Settings, service: str) -> Database:
    return client(settings.mongodb_uri)[settings.database_name(service)]
