"""People who sign in to a service's pages with a username and a password (casework's
staff today; reporting and partner users next). A password is kept as an Argon2id hash,
an API key (for integrations) as a SHA-256 hash, shown once. Sessions: backbone.sessions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pymongo.client_session import ClientSession
from pymongo.database import Database

from backbone import outbox
from backbone.api_keys import HIDDEN, KeyHolders
from backbone.clock import now
from backbone.sessions import SessionKeeping

MIN_PASSWORD_LENGTH = 12
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


class LockedOut(Exception):
    """Too many sign-in attempts for this username lately."""


_HASHER = PasswordHasher()
# Verifying against this when the username is unknown takes as long as a real check, so
# the time of an answer does not tell which usernames exist.
_UNKNOWN = _HASHER.hash("no such account")


class Accounts(KeyHolders, SessionKeeping):
    """Accounts in `db[collection]`, with their sessions and sign-in attempts beside them.

    Sessions and attempts carry `expires_at`, and a TTL index deletes them once it has
    passed; the database does so lazily (mongod looks once a minute), so every query
    checks `expires_at` too.
    """

    def __init__(
        self,
        db: Database,
        collection: str,
        key_prefix: str,
        sessions: str = "sessions",
        attempts: str = "sign_in_attempts",
    ) -> None:
        super().__init__(db[collection], key_prefix)
        self.sessions = db[sessions]
        self.attempts = db[attempts]

    def ensure_indexes(self) -> None:
        super().ensure_indexes()
        self.collection.create_index("username", unique=True)
        self.ensure_session_indexes()
        self.attempts.create_index([("username", 1), ("expires_at", 1)])
        self.attempts.create_index("expires_at", expireAfterSeconds=0)

    def create_account(
        self,
        username: str,
        name: str,
        role: str,
        password: str,
        session: ClientSession | None = None,
        **fields: Any,
    ) -> tuple[dict[str, Any], str]:
        """A new account with one role (and any other `fields` its kind keeps), and its
        API key, which is never shown again; written in `session`'s transaction if given."""
        return self.create(
            name,
            session,
            username=username,
            password_hash=_HASHER.hash(password),
            roles=[role],
            **fields,
        )

    def sign_in(self, username: str, password: str) -> dict[str, Any] | None:
        """The account, if the password is right and the account not revoked; a success
        clears the username's count of attempts (`check_password`)."""
        account = self.check_password(username, password)
        if account is not None:
            self.clear_attempts(username)
        return account

    def check_password(self, username: str, password: str) -> dict[str, Any] | None:
        """The account, if the password is right and the account not revoked, leaving the
        count of attempts as it is: with a second factor to come, only a right code
        (counted the same) clears it, so a known password does not reset the count of
        guessed codes.

        Every attempt is recorded before the password is checked (`record_attempt`), so
        at most MAX_FAILURES passwords are checked per username per LOCKOUT. Unknown
        usernames are counted the same, so a refusal tells nobody which ones exist.
        """
        self.record_attempt(username)
        account = self.collection.find_one(
            {"username": username, "revoked_at": None}, outbox.WITHOUT_LOG
        )
        try:
            _HASHER.verify(account["password_hash"] if account else _UNKNOWN, password)
        except (VerificationError, InvalidHashError):
            return None
        if account is None:  # the dummy hash cannot match; kept for the type checker
            return None
        return {k: v for k, v in account.items() if not k.endswith("_hash")}

    def record_attempt(self, username: str) -> None:
        """Count an attempt to prove who `username` is (a password or a second factor's
        code), before it is checked: LockedOut if it finds more than MAX_FAILURES within
        LOCKOUT (itself included), and then it is not to be checked, but counts too.
        However many attempts arrive at once, in however many processes, each is inserted
        before it counts, so the k-th to be inserted counts at least k."""
        at = now()
        self.attempts.insert_one({"username": username, "at": at, "expires_at": at + LOCKOUT})
        recent = self.attempts.count_documents({"username": username, "expires_at": {"$gt": at}})
        if recent > MAX_FAILURES:
            raise LockedOut()

    def clear_attempts(self, username: str) -> None:
        """Forget the username's attempts: they proved who they are."""
        self.attempts.delete_many({"username": username})

    def by_id(self, account_id: str) -> dict[str, Any] | None:
        """The account, unless it is unknown or revoked."""
        return self.collection.find_one({"_id": account_id, "revoked_at": None}, HIDDEN)
