"""Staff accounts: coordinators and managers. A password (for the web pages) is kept as an
Argon2id hash; an API key (for integrations) as a SHA-256 hash, shown once."""

from __future__ import annotations

from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pymongo.database import Database

from backbone.api_keys import KeyHolders

KEY_PREFIX = "fts_"
ROLES = {
    "coordinator": "Works the cases allocated to them.",
    "manager": "Sees every case, allocates and reassigns, and reads audit trails.",
}
MIN_PASSWORD_LENGTH = 12
_HASHER = PasswordHasher()
# Verifying against this when the username is unknown takes as long as a real check, so
# the time of an answer does not tell which usernames exist.
_UNKNOWN = _HASHER.hash("no such account")


class Staff(KeyHolders):
    def __init__(self, db: Database, cache_seconds: float = 0) -> None:
        super().__init__(db["staff"], KEY_PREFIX, cache_seconds)

    def ensure_indexes(self) -> None:
        super().ensure_indexes()
        self.collection.create_index("username", unique=True)

    def create_account(
        self, username: str, name: str, role: str, password: str
    ) -> tuple[dict[str, Any], str]:
        """A new account and its API key, which is never shown again."""
        return self.create(
            name, username=username, roles=[role], password_hash=_HASHER.hash(password)
        )

    def sign_in(self, username: str, password: str) -> dict[str, Any] | None:
        """The account, if the password is right and the account not revoked."""
        account = self.collection.find_one({"username": username, "revoked_at": None})
        try:
            _HASHER.verify(account["password_hash"] if account else _UNKNOWN, password)
        except (VerificationError, InvalidHashError):
            return None
        return {k: v for k, v in account.items() if not k.endswith("_hash")} if account else None

    def by_id(self, staff_id: str) -> dict[str, Any] | None:
        return self.collection.find_one(
            {"_id": staff_id, "revoked_at": None}, {"api_key_hash": 0, "password_hash": 0}
        )

    def coordinators(self) -> list[dict[str, Any]]:
        return list(
            self.collection.find(
                {"roles": "coordinator", "revoked_at": None}, {"name": 1, "roles": 1}
            ).sort("name", 1)
        )
