"""Partner organisations and their API keys. Each is announced as PartnerChanged when it
is added and when its key is revoked (the key's hash, never the key), so notifications
knows who it may tell of their referrals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database

from backbone import outbox
from backbone.api_keys import KeyHolders
from backbone.events.envelope import new_event
from services.referral import SOURCE

KEY_PREFIX = "ftk_"


class Partners(KeyHolders):
    def __init__(self, db: Database) -> None:
        super().__init__(db["partners"], KEY_PREFIX)

    def ensure_indexes(self) -> None:
        super().ensure_indexes()
        outbox.ensure_index(self.collection)

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
