"""People of partner organisations who use intake's web pages: they sign in with an email
address (their username) and a password (backbone.accounts: the same lockout and
sessions as casework's staff), and belong to one partner. A partner's administrator
manages its users; a referrer makes and follows the partner's referrals."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from backbone.accounts import Accounts
from services.referral.partners import Partners

KEY_PREFIX = "ftu_"  # accounts carry an API key; partner users' are never shown or used
ROLES = {
    "admin": "Invites and removes the organisation's users, and makes and follows referrals.",
    "referrer": "Makes and follows the organisation's referrals.",
}


class PartnerUsers(Accounts):
    def __init__(self, db: Database, partners: Partners) -> None:
        super().__init__(
            db,
            "partner_users",
            KEY_PREFIX,
            sessions="partner_sessions",
            attempts="partner_sign_in_attempts",
        )
        self.partners = partners

    def ensure_indexes(self) -> None:
        super().ensure_indexes()
        self.collection.create_index("partner_id")

    def create_user(
        self, partner_id: str, email: str, name: str, role: str, password: str
    ) -> dict[str, Any]:
        """A user of `partner_id`, signing in as `email` (kept in lower case)."""
        user, _ = self.create_account(email.lower(), name, role, password, partner_id=partner_id)
        return user

    def by_id(self, account_id: str) -> dict[str, Any] | None:
        """The user with their partner as `partner` ({_id, name}), unless the user was
        removed or the partner's access revoked: then every session of theirs ends."""
        user = super().by_id(account_id)
        if user is None:
            return None
        partner = self.partners.collection.find_one(
            {"_id": user["partner_id"], "revoked_at": None}, {"name": 1}
        )
        return {**user, "partner": partner} if partner else None
