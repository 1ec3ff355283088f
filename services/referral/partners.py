"""Partner organisations and their API keys. Each is announced as PartnerChanged when it
is added and when its key is revoked (the key's hash, never the key), so notifications
knows who it may tell of their referrals. A partner may require its users to sign in
with a second factor (`second_factor_required`, absent meaning no)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database

from backbone import outbox
from backbone.api_keys import HIDDEN, KeyHolders
from backbone.events.envelope import new_event
from services.referral import SOURCE

KEY_PREFIX = "ftk_"


class Partners(KeyHolders):
    def __init__(self, db: Database) -> None:
        super().__init__(db["partners"], KEY_PREFIX)

    def ensure_indexes(self) -> None:
        super().ensure_indexes()
        outbox.ensure_index(self.collection)

    def current(self, partner_id: str) -> dict[str, Any] | None:
        """The partner, unless unknown or revoked."""
        return self.collection.find_one({"_id": partner_id, "revoked_at": None}, HIDDEN)

    def require_second_factor(self, partner_id: str, required: bool) -> bool:
        """Whether the partner's users must sign in with a second factor; answers whether
        there is such a current partner. Nobody outside intake needs to know, so it is
        not announced."""
        changed = self.collection.update_one(
            {"_id": partner_id, "revoked_at": None}, {"$set": {"second_factor_required": required}}
        )
        return changed.matched_count == 1

    def announcement(self, holder: dict[str, Any], at: datetime) -> list[dict]:
        return [new_event("PartnerChanged", SOURCE, holder["_id"], partner_changed(holder, at))]


def partner_changed(partner: dict[str, Any], at: datetime) -> dict[str, Any]:
    """PartnerChanged's data: the partner as it is at `at`."""
    return {
        "partner_id": partner["_id"],
        "name": partner["name"],
        "api_key_hash": partner["api_key_hash"],
        "active": partner["revoked_at"] is None,
        "at": at.isoformat(),
    }
