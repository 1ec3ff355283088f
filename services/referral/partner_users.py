"""People of partner organisations who use intake's web pages: they sign in with an email
address (their username) and a password (backbone.accounts: the same lockout and
sessions as casework's staff), and a second factor if they set one up or their
organisation requires one (backbone.second_factor), and belong to one partner. A
partner's administrator manages its users; a referrer makes and follows the partner's
referrals."""

from __future__ import annotations

from typing import Any

from pymongo.client_session import ClientSession
from pymongo.database import Database

from backbone.accounts import Accounts
from backbone.api_keys import HIDDEN
from backbone.clock import now
from backbone.sealing import Sealer
from backbone.second_factor import SecondFactors
from services.referral.partners import Partners

KEY_PREFIX = "ftu_"  # accounts carry an API key; partner users' are never shown or used
ROLES = {
    "admin": "Invites and removes the organisation's users, and makes and follows referrals.",
    "referrer": "Makes and follows the organisation's referrals.",
}
ISSUER = "Family Ties referrals"  # the name authenticator apps show beside the code


class PartnerUsers(Accounts):
    def __init__(self, db: Database, partners: Partners, sealer: Sealer | None) -> None:
        super().__init__(
            db,
            "partner_users",
            KEY_PREFIX,
            sessions="partner_sessions",
            attempts="partner_sign_in_attempts",
        )
        self.partners = partners
        self.second_factors = SecondFactors(db["partner_second_factors"], ISSUER, sealer)

    def ensure_indexes(self) -> None:
        super().ensure_indexes()
        self.collection.create_index("partner_id")
        self.second_factors.ensure_indexes()

    def create_user(
        self,
        partner_id: str,
        email: str,
        name: str,
        role: str,
        password: str,
        session: ClientSession | None = None,
    ) -> dict[str, Any]:
        """A user of `partner_id`, signing in as `email` (kept in lower case), written in
        `session`'s transaction if given. For a known second factor (a test's), give it
        with `self.second_factors.set_up(user["_id"], secret)`."""
        user, _ = self.create_account(
            email.lower(), name, role, password, session, partner_id=partner_id
        )
        return user

    def by_id(self, account_id: str) -> dict[str, Any] | None:
        """The user with their partner as `partner` ({_id, name, second_factor_required}),
        unless the user was removed or the partner's access revoked: then every session
        of theirs ends."""
        user = super().by_id(account_id)
        if user is None:
            return None
        partner = self.partners.collection.find_one(
            {"_id": user["partner_id"], "revoked_at": None},
            {"name": 1, "second_factor_required": 1},
        )
        return {**user, "partner": partner} if partner else None

    def has_user(self, email: str) -> bool:
        """Whether a current user signs in as `email`."""
        return self.collection.count_documents({"username": email.lower(), "revoked_at": None}) > 0

    def of_partner(self, partner_id: str) -> list[dict[str, Any]]:
        """The partner's current users by name, each with `second_factor` (whether they
        have one)."""
        users = list(
            self.collection.find({"partner_id": partner_id, "revoked_at": None}, HIDDEN).sort(
                [("name", 1), ("username", 1)]
            )
        )
        with_factor = self.second_factors.set_up_among([user["_id"] for user in users])
        return [{**user, "second_factor": user["_id"] in with_factor} for user in users]

    def colleague(self, partner_id: str, user_id: str) -> dict[str, Any] | None:
        """A current user of `partner_id`, or None (unknown, removed, or another's)."""
        return self.collection.find_one(
            {"_id": user_id, "partner_id": partner_id, "revoked_at": None}, HIDDEN
        )

    def remove(self, partner_id: str, user_id: str) -> dict[str, Any] | None:
        """Remove a current user of `partner_id`: every session of theirs ends at once, and
        their second factor is forgotten. The address is freed (the account keeps its
        name, for the history of what they did), so it can be invited again. Answers the
        user as they were, or None if there was no such user."""
        user = self.colleague(partner_id, user_id)
        if user is None:
            return None
        removed = self.collection.update_one(
            {"_id": user_id, "revoked_at": None},
            {"$set": {"revoked_at": now(), "username": f"removed:{user_id}"}},
        )
        if removed.modified_count != 1:
            return None
        self.end_sessions(user_id)
        self.second_factors.turn_off(user_id)
        return user
