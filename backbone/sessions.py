"""Sessions of a service's pages, kept in the database (only each token's hash), so
signing out ends one for good. A mixin: the class gives `sessions` (a collection) and
`by_id(account_id)`, the account if it may still sign in."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from pymongo.collection import Collection

from backbone.api_keys import hash_key
from backbone.clock import now


class SessionKeeping:
    sessions: Collection

    def by_id(self, account_id: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def ensure_session_indexes(self) -> None:
        self.sessions.create_index("account_id")
        # The database deletes expired sessions lazily, so every query checks expires_at.
        self.sessions.create_index("expires_at", expireAfterSeconds=0)

    def start_session(self, account_id: str, lasting: timedelta) -> str:
        """A new session; the cookie holds its token, the database only the token's hash."""
        token = secrets.token_urlsafe(32)
        self.sessions.insert_one(
            {"_id": hash_key(token), "account_id": account_id, "expires_at": now() + lasting}
        )
        return token

    def signed_in(self, token: str) -> dict[str, Any] | None:
        """The account of a current session, or None (unknown, expired, signed out, or the
        account may no longer sign in)."""
        found = self.sessions.find_one({"_id": hash_key(token), "expires_at": {"$gt": now()}})
        # A session started before accounts moved here has no account_id: sign in again.
        return self.by_id(found["account_id"]) if found and "account_id" in found else None

    def end_session(self, token: str) -> None:
        self.sessions.delete_one({"_id": hash_key(token)})

    def end_sessions(self, account_id: str) -> None:
        """End every session of the account, wherever it was started."""
        self.sessions.delete_many({"account_id": account_id})
