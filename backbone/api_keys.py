"""Holders of API keys (partner organisations, directory editors). A key is shown once,
when it is made, and stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
import threading
from typing import Any

from cachetools import TTLCache
from pymongo.collection import Collection

from backbone.clock import now
from backbone.ids import new_id


def hash_key(api_key: str) -> str:
    # Keys are 256 random bits, so a fast hash is safe here (no dictionary to guess from).
    return hashlib.sha256(api_key.encode()).hexdigest()


class KeyHolders:
    """Named holders of API keys in one collection; `prefix` tells a key's kind apart."""

    def __init__(self, collection: Collection, prefix: str, cache_seconds: float = 0) -> None:
        self.collection = collection
        self.prefix = prefix
        # Answering a key from memory for a few seconds spares a database round trip on
        # every request; a revoked key therefore stops working within `cache_seconds`.
        self._cache: TTLCache | None = (
            TTLCache(maxsize=1024, ttl=cache_seconds) if cache_seconds > 0 else None
        )
        self._lock = threading.Lock()

    def ensure_indexes(self) -> None:
        self.collection.create_index("api_key_hash", unique=True)

    def create(self, name: str, **fields: Any) -> tuple[dict[str, Any], str]:
        """A new holder and its API key, which is never shown again."""
        api_key = self.prefix + secrets.token_urlsafe(32)
        holder = {
            "_id": new_id(),
            "name": name,
            **fields,
            "created_at": now(),
            "api_key_hash": hash_key(api_key),
            "api_key_hint": api_key[: len(self.prefix) + 4],
            "revoked_at": None,
        }
        self.collection.insert_one(holder)
        return holder, api_key

    def all(self) -> list[dict[str, Any]]:
        hidden = {"api_key_hash": 0, "password_hash": 0}
        return list(self.collection.find({}, hidden).sort("created_at", 1))

    def revoke(self, holder_id: str) -> bool:
        result = self.collection.update_one(
            {"_id": holder_id, "revoked_at": None}, {"$set": {"revoked_at": now()}}
        )
        return result.modified_count == 1

    def authenticate(self, api_key: str) -> dict[str, Any] | None:
        """The holder of this key, or None when it is unknown or revoked."""
        digest = hash_key(api_key)
        if self._cache is not None:
            with self._lock:
                holder = self._cache.get(digest)
            if holder is not None:
                return holder
        holder = self.collection.find_one(
            {"api_key_hash": digest, "revoked_at": None}, {"api_key_hash": 0, "password_hash": 0}
        )
        if holder is not None and self._cache is not None:
            with self._lock:
                self._cache[digest] = holder
        return holder


def bearer_key(authorization: str) -> str | None:
    """The key of an 'Authorization: Bearer <key>' header, or None."""
    scheme, _, key = authorization.partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None
