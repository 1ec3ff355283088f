"""Holders of API keys (partner organisations, directory editors). A key is shown once,
when it is made, and stored only as a hash.

A kind of holder that other services need to know of (partners, staff) announces each
one: its `announcement` gives the events that say what the holder now is, and they are
written in the same write as the change they announce, into the holder's own event log
(backbone.outbox). Other kinds announce nothing, and keep no log."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from flask import g, request
from pymongo.client_session import ClientSession
from pymongo.collection import Collection

from backbone import outbox
from backbone.clock import now
from backbone.errors import Forbidden
from backbone.ids import new_id
from backbone.problems import Problem

READS = ("GET", "HEAD", "OPTIONS")
# What no answer shows: the key's hash, a password's, and the event log (whose events
# carry the key's hash).
HIDDEN = {"api_key_hash": 0, "password_hash": 0, **outbox.WITHOUT_LOG}


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

    def announcement(self, holder: dict[str, Any], at: datetime) -> list[dict]:
        """The events that announce `holder` as it is now (made, changed or revoked at
        `at`). None by default: this kind of holder is nobody else's business."""
        return []

    def create(
        self, name: str, session: ClientSession | None = None, **fields: Any
    ) -> tuple[dict[str, Any], str]:
        """A new holder and its API key, which is never shown again; written in `session`'s
        transaction if given."""
        api_key = self.prefix + secrets.token_urlsafe(32)
        at = now()
        holder = {
            "_id": new_id(),
            "name": name,
            **fields,
            "created_at": at,
            "api_key_hash": hash_key(api_key),
            "api_key_hint": api_key[: len(self.prefix) + 4],
            "revoked_at": None,
        }
        self.collection.insert_one(
            outbox.with_events(holder, *self.announcement(holder, at)), session=session
        )
        return holder, api_key

    def all(self) -> list[dict[str, Any]]:
        return list(self.collection.find({}, HIDDEN).sort("created_at", 1))

    def revoke(self, holder_id: str) -> bool:
        """Revoke a current holder's key (and password, if any); answer whether there was
        one to revoke."""
        at = now()
        return self.change(holder_id, {"revoked_at": at}, at) is not None

    def change(self, holder_id: str, fields: dict[str, Any], at: datetime) -> dict[str, Any] | None:
        """Set `fields` of a current (unrevoked) holder, with the events announcing it as
        changed, in one write; answer the holder as changed, or None if there is no
        current holder with this id.

        The events are made from the holder as read, so the write applies only if no
        announced change came in between (its event log is as long as it was when read);
        if one did, the holder is read again and the events made anew."""
        while True:
            holder = self.collection.find_one({"_id": holder_id, "revoked_at": None})
            if holder is None:
                return None
            changed = {**holder, **fields}
            events = self.announcement(changed, at)
            update: dict[str, Any] = {"$set": fields}
            unchanged: dict[str, Any] = {"_id": holder_id, "revoked_at": None}
            if events:
                update = outbox.append_events(update, *events)
                logged = holder.get("events")
                unchanged["events"] = (
                    {"$size": len(logged)} if logged is not None else {"$exists": False}
                )
            if self.collection.update_one(unchanged, update).modified_count == 1:
                return {k: v for k, v in changed.items() if k not in HIDDEN}

    def announce_unannounced(self) -> int:
        """Give each holder with no event log yet (made before its kind was announced) the
        events announcing it as it is now; answer how many were given them. Holders that
        have a log are left alone, so running this again changes nothing."""
        announced = 0
        for holder in self.collection.find({"events": {"$exists": False}}):
            events = self.announcement(holder, holder["revoked_at"] or holder["created_at"])
            if not events:
                continue
            result = self.collection.update_one(
                {"_id": holder["_id"], "events": {"$exists": False}},
                outbox.append_events({}, *events),
            )
            announced += result.modified_count
        return announced

    def authenticate(self, api_key: str) -> dict[str, Any] | None:
        """The holder of this key, or None when it is unknown or revoked.

        Every request asks the database (one indexed read), so a revoked key is refused
        by every process from the moment it is revoked: no cache to wait out.
        """
        return self.collection.find_one(
            {"api_key_hash": hash_key(api_key), "revoked_at": None}, HIDDEN
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
