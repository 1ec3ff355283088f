"""The MongoDB client (one per process, shared by its threads), durable writes, and which
database errors mean "away for now" rather than "wrong"."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, Protocol

import pymongo
from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import (
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    WTimeoutError,
)

from backbone.settings import Settings


@cache
def client(
    uri: str,
    server_selection_timeout_ms: int,
    username: str | None = None,
    password: str | None = None,
) -> MongoClient:
    """The process's client, logged in as `username` if given (production: one user per
    service; found where the URI's authSource or database says, else in `admin`). Kept out
    of the URI, a password needs no escaping and never shows where the URI does."""
    login = {"username": username, "password": password} if username else {}
    return MongoClient(
        uri,
        **login,
        tz_aware=True,  # datetimes read back are UTC-aware, like the ones written
        appname="familyties",
        # A write is acknowledged only once it is journaled on a majority: a referral
        # answered 201, or an event a consumer recorded before committing its offset,
        # survives a crash or a power cut.
        w="majority",
        journal=True,
        serverSelectionTimeoutMS=server_selection_timeout_ms,
    )


def database(settings: Settings, service: str) -> Database:
    password = settings.mongodb_password
    found = client(
        settings.mongodb_uri,
        settings.mongodb_server_selection_timeout_ms,
        settings.mongodb_username,
        password.reveal() if password else None,
    )
    return found[settings.database_name(service)]


def in_transaction(
    db: Database, write: Callable[[ClientSession], Any], session: ClientSession | None = None
) -> Any:
    """Run `write` as one transaction, retried as the driver retries transient errors (for
    at most 120 s, or until the deadline of an enclosing `pymongo.timeout`). A caller that
    runs many keeps one `session` for them."""
    if session is not None:
        return session.with_transaction(write)
    with db.client.start_session() as own:
        return own.with_transaction(write)


# Operations cut short rather than refused: interrupted (a session ended by a consumer
# taking over, a shutdown), a transaction that no longer exists, a write conflict.
_CUT_SHORT = {11600, 11601, 11602, 251, 112}


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database is away or busy for now (try again later), rather
    than that the operation itself is wrong."""
    if isinstance(error, ConnectionFailure | ExecutionTimeout | WTimeoutError):
        return True
    if isinstance(error, OperationFailure) and error.code in _CUT_SHORT:
        return True
    return isinstance(error, PyMongoError) and (
        error.has_error_label("TransientTransactionError")
        or error.has_error_label("UnknownTransactionCommitResult")
    )


class HasIndexes(Protocol):
    def ensure_indexes(self) -> None: ...


def ensure_indexes(*stores: HasIndexes, seconds: float = 60) -> None:
    """Create each store's indexes at a web process's start. Under `make run` the database
    may still be starting: wait for it (up to `seconds`) rather than fail."""
    with pymongo.timeout(seconds):
        for store in stores:
            store.ensure_indexes()
