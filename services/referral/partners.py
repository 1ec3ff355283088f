"""Partner organisations and their API keys. A key is shown once and stored as a hash."""

from __future__ import annotations

import hashlib
import secrets
import threading
from typing import Any

from cachetools import TTLCache
from pymongo.database import Database

from backbone.clock import now
from backbone.ids import new_id

KEY_PREFIX = "ftk_"


def hash_key(api_key: str) -> str:
    # Keys are 256 random bits, so a fast hash is safe here (no dictionary to guess from).
    return hashlib.sha256(api_key.encode()).hexdigest()


class Partners:
    def __init__(self, db: Database, cache_seconds: float = 0) -> None:
        self.collection = db["partners"]
        # Answering a key from memory for a few seconds spares a database round trip on
        # every request; a revoked key therefore stops working within `cache_seconds`.
        self._cache: TTLCache | None = (
            TTLCache(maxsize=1024, ttl=cache_seconds) if cache_seconds > 0 else None
        )
        self._lock = threading.Lock()

    def ensure_indexes(self) -> None:
        self.collection.create_index("api_key_hash", unique=True)

    def create(self, name: str) -> tuple[dict[str, Any], str]:
        """A new partner and its API key, which is never shown again."""
        api_key = KEY_PREFIX + secrets.token_urlsafe(32)
        partner = {
            "_id": new_id(),
            "name": name,
            "created_at": now(),
            "api_key_hash": hash_key(api_key),
            "api_key_hint": api_key[: len(KEY_PREFIX) + 4],
            "revoked_at": None,
        }
        self.collection.insert_one(partner)
        return partner, api_key

    def all(self) -> list[dict[str, Any]]:
        return list(self.collection.find({}, {"api_key_hash": 0}).sort("created_at", 1))

    def revoke(self, partner_id: str) -> bool:
        result = self.collection.update_one(
            {"_id": partner_id, "revoked_at": None}, {"$set": {"revoked_at": now()}}
        )
        return result.modified_count == 1

    def authenticate(self, api_key: str) -> dict[str, Any] | None:
        """The partner holding this key, or None when it is unknown or revoked."""
        digest = hash_key(api_key)
        if self._cache is not None:
            with self._lock:
                partner = self._cache.get(digest)
            if partner is not None:
                return partner
        partner = self.collection.find_one(
            {"api_key_hash": digest, "revoked_at": None}, {"_id": 1, "name": 1}
        )
        if partner is not None and self._cache is not None:
            with self._lock:
                self._cache[digest] = partner
        return partner
