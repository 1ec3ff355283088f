"""Referrals in progress on the web form, in intake's database (collection referral_drafts).

A draft belongs to the user who started it and to their organisation: every query filters
by both, so anyone else's draft is "not found", as an unknown one is. It holds the answers
given so far, in the referral's JSON shape, and is deleted 7 days after it was last saved
(a TTL index; the database deletes lazily, so every query also checks `expires_at`).

Submitting deletes the answers. What stays until the draft would have expired is a
receipt: the referral it became (so a second press of "Submit" shows the same
confirmation) and the user's team and role (to answer "About you" for their next one)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

from backbone.clock import now
from backbone.errors import NotFound
from backbone.ids import new_id

LIFETIME = timedelta(days=7)


class Drafts:
    def __init__(self, db: Database) -> None:
        self.collection = db["referral_drafts"]

    def ensure_indexes(self) -> None:
        self.collection.create_index(
            [("partner_id", ASCENDING), ("user_id", ASCENDING), ("saved_at", DESCENDING)]
        )
        self.collection.create_index("expires_at", expireAfterSeconds=0)

    def _theirs(self, user: dict[str, Any], **more: Any) -> dict[str, Any]:
        return {
            "user_id": user["_id"],
            "partner_id": user["partner"]["_id"],
            "expires_at": {"$gt": now()},
            **more,
        }

    def start(self, user: dict[str, Any]) -> dict[str, Any]:
        """A new draft of `user`'s, with the team and role of their last referral."""
        last = self.collection.find_one(
            self._theirs(user, remembered=True), {"answers.referrer": 1}, sort=[("saved_at", -1)]
        )
        at = now()
        draft = {
            "_id": new_id(),
            "user_id": user["_id"],
            "partner_id": user["partner"]["_id"],
            "answers": {"referrer": last["answers"]["referrer"]} if last else {},
            "pages_done": [],
            "started_at": at,
            "saved_at": at,
            "expires_at": at + LIFETIME,
        }
        self.collection.insert_one(draft)
        return draft

    def mine(self, user: dict[str, Any]) -> list[dict[str, Any]]:
        """`user`'s drafts not yet submitted, last saved first."""
        return list(
            self.collection.find(self._theirs(user, referral_id=None), sort=[("saved_at", -1)])
        )

    def get(self, user: dict[str, Any], draft_id: str) -> dict[str, Any]:
        """One of `user`'s drafts (or receipts); NotFound for anyone else's."""
        draft = self.collection.find_one(self._theirs(user, _id=draft_id))
        if draft is None:
            raise NotFound("No draft of yours has this id.")
        return draft

    def save_page(
        self, user: dict[str, Any], draft_id: str, page: str, answers: dict[str, Any]
    ) -> None:
        """Keep the answers with `page` answered, for another 7 days from now."""
        at = now()
        saved = self.collection.update_one(
            self._theirs(user, _id=draft_id, referral_id=None),
            {
                "$set": {"answers": answers, "saved_at": at, "expires_at": at + LIFETIME},
                "$addToSet": {"pages_done": page},
            },
        )
        if saved.matched_count == 0:
            raise NotFound("No draft of yours has this id.")

    def submitted(self, user: dict[str, Any], draft_id: str, referral_id: str) -> None:
        """The draft became `referral_id`: its answers go, but for the referrer's team and
        role."""
        draft = self.get(user, draft_id)
        referrer = draft.get("answers", {}).get("referrer", {})
        self.collection.update_one(
            self._theirs(user, _id=draft_id),
            {
                "$set": {
                    "referral_id": referral_id,
                    "answers": {
                        "referrer": {k: referrer[k] for k in ("team", "role") if k in referrer}
                    },
                    "remembered": True,
                    "saved_at": now(),
                },
                "$unset": {"pages_done": ""},
            },
        )

    def unsent(self, user: dict[str, Any], draft_id: str) -> dict[str, Any]:
        """One of `user`'s drafts not yet sent; NotFound for a receipt or anyone else's."""
        draft = self.collection.find_one(self._theirs(user, _id=draft_id, referral_id=None))
        if draft is None:
            raise NotFound("No draft of yours waiting to be sent has this id.")
        return draft

    def delete(self, user: dict[str, Any], draft_id: str) -> None:
        """Delete one of `user`'s drafts not yet sent, at their asking (a receipt stays)."""
        unsent = self._theirs(user, _id=draft_id, referral_id=None)
        if self.collection.delete_one(unsent).deleted_count == 0:
            raise NotFound("No draft of yours has this id.")
