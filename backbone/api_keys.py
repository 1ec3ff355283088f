"""Holders of API keys (partner organisations, directory editors). A key is shown once,
when it is made, and stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from flask import g, request
from pymongo.collection import Collection

from backbone.clock import now
from backbone.errors import Forbidden
from backbone.ids import new_id
from backbone.problems import Problem

READS = ("GET", "HEAD", "OPTIONS")


def hash_key(api_key: str) -> str:
    # Keys are 256 random bits, so a fast hash is safe here (no dictionary to guess from).
    return hashlib.sha256(api_key.encode()).hexdigest()


class KeyHolders:
    """Named holders of API keys in one collection; `prefix` tells a key's kind apart."""

    def __init__(self, collection: Collection, prefix: str) -> None:
        self.collection = collection
        self.prefix = prefix

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
        """The holder of this key, or None when it is unknown or revoked.

        Every request asks the database (one indexed read), so a revoked key is refused
        by every process from the moment it is revoked: no cache to wait out.
        """
        return self.collection.find_one(
            {"api_key_hash": hash_key(api_key), "revoked_at": None},
            {"api_key_hash": 0, "password_hash": 0},
        )


def bearer_key(authorization: str) -> str | None:
    """The key of an 'Authorization: Bearer <key>' header, or None."""
    scheme, _, key = authorization.partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


def key_check(holders: KeyHolders, kind: str, realm: str, open_reads: bool = False):
    """A before-request function: the caller is the holder of a current key sent as
    `Authorization: Bearer <key>`, kept as `g.caller`. With `open_reads`, a read may come
    without a key (g.caller is None), but a key that is sent must be good."""
    refusal = Problem(
        401,
        "Unauthorised",
        f"Send a current {kind} API key as 'Authorization: Bearer <key>'.",
        headers={"WWW-Authenticate": f'Bearer realm="{realm}"'},
    )

    def check() -> None:
        header = request.headers.get("Authorization")
        g.caller, g.unauthorised = None, refusal
        if header is None and open_reads and request.method in READS:
            return
        key = bearer_key(header or "")
        g.caller = holders.authenticate(key) if key else None
        if g.caller is None:
            raise refusal

    return check


def require_role(role: str) -> dict[str, Any]:
    """The caller, who must hold `role`: 401 without a key, 403 without the role."""
    if g.caller is None:
        raise g.unauthorised
    if role not in g.caller.get("roles", []):
        raise Forbidden(f"This needs the '{role}' role.")
    return g.caller
