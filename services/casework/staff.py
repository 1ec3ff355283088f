"""Staff accounts: coordinators and managers, who sign in to the pages with a password
and an authenticator app's code (every one of them: they read every family's details;
backbone.second_factor), may hold an API key for integrations (see backbone.accounts),
and may have a work email address. Each is announced as StaffChanged when it is added,
when its email address changes and when it is revoked, so notifications can tell them of
their cases."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pymongo.database import Database

from backbone import outbox
from backbone.accounts import Accounts
from backbone.clock import now
from backbone.events.envelope import new_event
from backbone.sealing import Sealer
from backbone.second_factor import SecondFactors
from services.casework import SOURCE

KEY_PREFIX = "fts_"
ISSUER = "Family Ties casework"  # the name authenticator apps show beside the code
log = logging.getLogger(__name__)

ROLES = {
    "coordinator": "Works the cases allocated to them.",
    "manager": "Sees every case, allocates and reassigns, and reads audit trails.",
}


class Staff(Accounts):
    def __init__(self, db: Database, sealer: Sealer | None) -> None:
        """`sealer` seals the authenticator apps' secrets: None where none is sealed or
        opened (the worker, the commands), which then hold no data key."""
        super().__init__(db, "staff", KEY_PREFIX)
        self.second_factors = SecondFactors(db["staff_second_factors"], ISSUER, sealer)

    def ensure_indexes(self) -> None:
        super().ensure_indexes()
        outbox.ensure_index(self.collection)
        self.second_factors.ensure_indexes()

    def announcement(self, holder: dict[str, Any], at: datetime) -> list[dict]:
        return [new_event("StaffChanged", SOURCE, holder["_id"], staff_changed(holder, at))]

    def coordinators(self) -> list[dict[str, Any]]:
        return list(
            self.collection.find(
                {"roles": "coordinator", "revoked_at": None}, {"name": 1, "roles": 1}
            ).sort("name", 1)
        )

    def set_email(self, username: str, email: str) -> dict[str, Any] | None:
        """Give a current account this work email address, announced as StaffChanged in
        the same write (nothing is written if it has it already); answer the account, or
        None if no current account has this username."""
        found = self.collection.find_one({"username": username, "revoked_at": None}, {"email": 1})
        if found is None:
            return None
        if found.get("email") == email:
            return self.by_id(found["_id"])
        return self.change(found["_id"], {"email": email}, now())

    def reset_second_factor(self, username: str) -> str | None:
        """Forget a current account's authenticator app and recovery codes (a lost phone),
        and end its sessions: it sets up a new app at its next sign-in. Answers the
        account's id, or None if no current account has this username."""
        found = self.collection.find_one({"username": username, "revoked_at": None}, {"_id": 1})
        if found is None:
            return None
        self.second_factors.turn_off(found["_id"])
        self.end_sessions(found["_id"])
        log.info("staff second factor reset", extra={"staff_id": found["_id"]})
        return found["_id"]


def staff_changed(account: dict[str, Any], at: datetime) -> dict[str, Any]:
    """StaffChanged's data: the account as it is at `at`."""
    return {
        "staff_id": account["_id"],
        "name": account["name"],
        "email": account.get("email"),
        "roles": list(account["roles"]),
        "active": account["revoked_at"] is None,
        "at": at.isoformat(),
    }
