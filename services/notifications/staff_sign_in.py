"""Staff sign in to notifications' pages with a link emailed to their work address. Their
accounts live in casework, which announces each one (StaffChanged) with that address, so
nobody needs a second password: whoever reads the address may sign in, as whoever reads
it gets the messages anyway. Staff without a work address cannot sign in here, and get
no messages either.

A link works once, within LINK_LASTING, and only by the button on the page it opens, so
a mail scanner that fetches links does not use it up. The database holds only each
link's hash."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

from pymongo.database import Database

from backbone.api_keys import hash_key
from backbone.clock import now
from backbone.sessions import SessionKeeping

LINK_LASTING = timedelta(minutes=15)
LINKS_PER_PERSON = 3  # within LINK_LASTING: nobody's inbox is flooded with links
SHOWN = {"name": 1, "email": 1, "roles": 1, "preferences": 1}


class StaffSignIn(SessionKeeping):
    def __init__(self, db: Database) -> None:
        self.staff = db["staff"]  # the view kept from StaffChanged
        self.links = db["sign_in_links"]
        self.sessions = db["sessions"]

    def ensure_indexes(self) -> None:
        self.ensure_session_indexes()
        self.links.create_index("staff_id")
        self.links.create_index("expires_at", expireAfterSeconds=0)

    def by_id(self, staff_id: str) -> dict[str, Any] | None:
        """A current staff member with a work address: who may be signed in."""
        return self.staff.find_one({"_id": staff_id, "active": True, "email": {"$ne": None}}, SHOWN)

    def new_link(self, email: str) -> tuple[dict[str, Any], str] | None:
        """The staff member whose work address this is, and a new link's token; None if
        no current staff member has it or they were sent LINKS_PER_PERSON lately (the
        page says the same either way, so it tells nobody whose address it is)."""
        exactly = re.compile(f"^{re.escape(email.strip())}$", re.IGNORECASE)
        person = self.staff.find_one({"email": exactly, "active": True}, SHOWN)
        if person is None:
            return None
        at = now()
        recent = {"staff_id": person["_id"], "expires_at": {"$gt": at}}
        if self.links.count_documents(recent) >= LINKS_PER_PERSON:
            return None
        token = secrets.token_urlsafe(32)
        self.links.insert_one(
            {"_id": hash_key(token), "staff_id": person["_id"], "expires_at": at + LINK_LASTING}
        )
        return person, token

    def link_works(self, token: str) -> bool:
        return self.links.count_documents(self._current(token)) == 1

    def use_link(self, token: str) -> str | None:
        """The staff id the link signs in, using the link up; None if it is unknown, used,
        expired, or its staff member may no longer sign in."""
        found = self.links.find_one_and_delete(self._current(token))
        if found is None or self.by_id(found["staff_id"]) is None:
            return None
        return found["staff_id"]

    @staticmethod
    def _current(token: str) -> dict[str, Any]:
        return {"_id": hash_key(token), "expires_at": {"$gt": now()}}
