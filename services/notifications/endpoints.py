"""Partners' webhook endpoints: registered, listed, rotated, enabled and removed by the
partner, with its intake API key. The signing secret is shown once, and stored sealed
(backbone.sealing): channels.current_secrets opens it to sign."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from typing import Any

from backbone.clock import now
from backbone.errors import NotAllowed, NotFound
from backbone.ids import new_id
from backbone.sealing import Sealer
from services.notifications import address_guard
from services.notifications.repository import DELIVERED, FAILED, QUEUED, SENDING, Store

ROTATION_OVERLAP = timedelta(hours=24)
MAX_ENDPOINTS = 10


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class Endpoints:
    def __init__(
        self,
        store: Store,
        allow_private: bool,
        sealer: Sealer,
        resolver=address_guard.system_resolver,
    ):
        self.store = store
        self.collection = store.endpoints
        self.allow_private = allow_private
        self.sealer = sealer
        self.resolver = resolver

    def register(self, partner: dict, body: dict[str, Any]) -> dict[str, Any]:
        self.check_url(body["url"])
        if self.collection.count_documents({"partner_id": partner["_id"]}) >= MAX_ENDPOINTS:
            raise NotAllowed(f"A partner may have at most {MAX_ENDPOINTS} endpoints.")
        secret = new_secret()
        endpoint = {
            "_id": new_id(),
            "partner_id": partner["_id"],
            "url": body["url"],
            "event_types": sorted(set(body["event_types"])),
            "description": body.get("description", ""),
            "status": "active",
            "created_at": now(),
            "secrets": [
                {"secret": self.sealer.seal(secret), "created_at": now(), "expires_at": None}
            ],
        }
        self.collection.insert_one(endpoint)
        return {**endpoint, "secret": secret}

    def check_url(self, url: str) -> None:
        try:
            address_guard.addresses_to_call(url, self.allow_private, self.resolver)
        except address_guard.RefusedAddress as refused:
            raise NotAllowed(str(refused), "/url") from None
        except OSError:  # the name does not resolve (now): it cannot be checked
            raise NotAllowed("The address's host name does not resolve.", "/url") from None

    def of_partner(self, partner: dict) -> list[dict]:
        return self.store.partner_endpoints(partner["_id"])

    def one(self, partner: dict, endpoint_id: str) -> dict:
        found = self.collection.find_one({"_id": endpoint_id, "partner_id": partner["_id"]})
        if found is None:  # another partner's endpoint is not found either
            raise NotFound("No such endpoint.")
        return found

    def remove(self, partner: dict, endpoint_id: str) -> None:
        self.one(partner, endpoint_id)
        self.collection.delete_one({"_id": endpoint_id, "partner_id": partner["_id"]})

    def rotate(self, partner: dict, endpoint_id: str) -> dict[str, Any]:
        """A new secret; the ones before it keep signing for 24 hours, so a receiver can
        change over without missing a message."""
        endpoint = self.one(partner, endpoint_id)
        at = now()
        until = at + ROTATION_OVERLAP
        # The secrets kept are written again: one stored in clear before sealing came in is
        # sealed now, one sealed with an older key is sealed with the newest.
        kept = [
            {
                **s,
                "secret": self.sealer.resealed(s["secret"]),
                "expires_at": min(s["expires_at"] or until, until),
            }
            for s in endpoint["secrets"]
            if s["expires_at"] is None or s["expires_at"] > at
        ]
        secret = new_secret()
        new = {"secret": self.sealer.seal(secret), "created_at": at, "expires_at": None}
        self.collection.update_one({"_id": endpoint_id}, {"$set": {"secrets": [*kept, new]}})
        return {"secret": secret, "previous_expires_at": until}

    def enable(self, partner: dict, endpoint_id: str) -> dict:
        endpoint = self.one(partner, endpoint_id)
        self.check_url(endpoint["url"])
        self.collection.update_one(
            {"_id": endpoint_id},
            {"$set": {"status": "active"}, "$unset": {"disabled_reason": "", "disabled_at": ""}},
        )
        return self.one(partner, endpoint_id)

    def deliveries(self, partner: dict, endpoint_id: str, limit: int = 50) -> list[dict]:
        self.one(partner, endpoint_id)
        return self.store.recent({"address": endpoint_id, "channel": "webhook"}, limit)

    def resend(self, partner: dict, message_id: str) -> dict:
        """Send a delivery again, with the same webhook-id, whatever became of it."""
        message = self.store.messages.find_one(
            {"_id": message_id, "channel": "webhook", "partner_id": partner["_id"]}
        )
        if message is None:
            raise NotFound("No such delivery.")
        endpoint = self.one(partner, message["address"])
        if endpoint["status"] != "active":
            raise NotAllowed("The endpoint is disabled: enable it first.")
        if message["status"] in (QUEUED, SENDING):
            raise NotAllowed("This delivery is being sent already.")
        at = now()
        self.store.messages.update_one(
            {"_id": message_id, "status": {"$in": [DELIVERED, FAILED]}},
            {
                "$set": {
                    "status": QUEUED,
                    "next_attempt_at": at,
                    "give_up_at": at + (message["give_up_at"] - message["created_at"]),
                    "resent_at": at,
                }
            },
        )
        return self.store.messages.find_one({"_id": message_id})
