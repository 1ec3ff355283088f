"""Staff accounts: coordinators and managers, who sign in to the pages with a password
and may hold an API key for integrations (see backbone.accounts)."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from backbone.accounts import Accounts

KEY_PREFIX = "fts_"
ROLES = {
    "coordinator": "Works the cases allocated to them.",
    "manager": "Sees every case, allocates and reassigns, and reads audit trails.",
}


class Staff(Accounts):
    def __init__(self, db: Database) -> None:
        super().__init__(db, "staff", KEY_PREFIX)

    def coordinators(self) -> list[dict[str, Any]]:
        return list(
            self.collection.find(
                {"roles": "coordinator", "revoked_at": None}, {"name": 1, "roles": 1}
            ).sort("name", 1)
        )
