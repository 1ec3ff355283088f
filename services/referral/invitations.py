"""Invitations of partner users: a partner's administrator (or the `familyties partners
invite` command, for a partner's first administrator) invites someone by email address,
name and role; they get a one-time link to /invitations/<token>, where they choose a
password and confirm their name, and so become a user.

The link's token is 256 random bits; the database holds only its hash. A link works once
and for INVITATION_LASTING; a used or expired invitation is kept a while (to say so,
rather than "not found"), then the database deletes it. A new invitation to the same
address from the same partner replaces any unused one."""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from marshmallow import ValidationError, validate
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from backbone import mongo
from backbone.accounts import MIN_PASSWORD_LENGTH
from backbone.api_keys import hash_key
from backbone.clock import UK, now
from backbone.fields import text
from backbone.mail import Mailer, new_email
from backbone.settings import Settings
from services.referral.partner_users import ROLES, PartnerUsers

log = logging.getLogger(__name__)

INVITATION_LASTING = timedelta(hours=72)
KEPT_AFTER = timedelta(days=30)  # a used or expired invitation, to tell its link apart
PATH = "/invitations/"  # the pages' route is PATH + <token>
MAX_NAME = 100
MAX_PASSWORD = 200

ENTER_EMAIL = "Enter their email address"
BAD_EMAIL = "Enter an email address in the correct format, like name@example.org"
EMAIL_TAKEN = "Somebody already signs in with this email address"
ENTER_NAME = "Enter their full name"
ENTER_OWN_NAME = "Enter your full name"
LONG_NAME = f"Name must be {MAX_NAME} characters or fewer"
NAME_CHARACTERS = "Name must not contain hidden characters (pasted text can): type it in"
CHOOSE_ROLE = "Choose what they can do: administrator or referrer"
ENTER_PASSWORD = "Enter a password"
SHORT_PASSWORD = f"Password must be {MIN_PASSWORD_LENGTH} characters or more"
LONG_PASSWORD = f"Password must be {MAX_PASSWORD} characters or fewer"
PASSWORDS_DIFFER = "Enter the same password twice"


# ---- checking what was typed, without I/O ------------------------------------------------


def tidy_name(typed: str) -> str:
    return " ".join(typed.split())


def invitation_errors(email: str, name: str, role: str) -> dict[str, str]:
    """What is wrong with an invitation's answers (tidied: `tidy_name`, email stripped),
    by field."""
    errors = {}
    if not email:
        errors["email"] = ENTER_EMAIL
    else:
        try:
            validate.Email()(email)
        except ValidationError:
            errors["email"] = BAD_EMAIL
    if not name:
        errors["name"] = ENTER_NAME
    elif problem := _name_problem(name):
        errors["name"] = problem
    if role not in ROLES:
        errors["role"] = CHOOSE_ROLE
    return errors


def _name_problem(name: str) -> str | None:
    """Why a name (not empty) cannot be kept, or None. Judged as referrals' and events'
    text fields judge it: the name goes into referrals sent and withdrawals made."""
    if len(name) > MAX_NAME:
        return LONG_NAME
    try:
        text(MAX_NAME).deserialize(name)
    except ValidationError:
        return NAME_CHARACTERS
    return None


def acceptance_errors(name: str, password: str, confirmation: str) -> dict[str, str]:
    """What is wrong with the invitee's answers, by field."""
    errors = {}
    if not name:
        errors["name"] = ENTER_OWN_NAME
    elif problem := _name_problem(name):
        errors["name"] = problem
    if not password:
        errors["password"] = ENTER_PASSWORD
    elif len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = SHORT_PASSWORD
    elif len(password) > MAX_PASSWORD:
        errors["password"] = LONG_PASSWORD
    elif password != confirmation:
        errors["confirmation"] = PASSWORDS_DIFFER
    return errors


# ---- stored -------------------------------------------------------------------------------


class EmailTaken(Exception):
    """Somebody already signs in with this address."""


@dataclass(frozen=True)
class Found:
    """An invitation's link as it stands: "open", "used", "expired" or "unknown" (no
    invitation, or its partner revoked); the invitation if there is one."""

    state: str
    invitation: dict[str, Any] | None = None


class Invitations:
    def __init__(self, db: Database, users: PartnerUsers) -> None:
        self.collection = db["partner_invitations"]
        self.users = users

    def ensure_indexes(self) -> None:
        self.collection.create_index([("partner_id", 1), ("email", 1)])
        self.collection.create_index("forget_at", expireAfterSeconds=0)

    def invite(
        self, partner: dict[str, Any], email: str, name: str, role: str, invited_by: str | None
    ) -> tuple[dict[str, Any], str]:
        """A new invitation (answers errors must be checked first: `invitation_errors`),
        and its link's token, never stored. EmailTaken if somebody signs in as `email`."""
        email = email.lower()
        if self.users.has_user(email):
            raise EmailTaken()
        token = secrets.token_urlsafe(32)
        at = now()
        invitation = {
            "_id": hash_key(token),
            "partner_id": partner["_id"],
            "email": email,
            "name": name,
            "role": role,
            "invited_by": invited_by,  # a user's id; None from the command line
            "created_at": at,
            "expires_at": at + INVITATION_LASTING,
            "forget_at": at + INVITATION_LASTING + KEPT_AFTER,
            "used_at": None,
        }
        self.collection.delete_many({"partner_id": partner["_id"], "email": email, "used_at": None})
        self.collection.insert_one(invitation)
        return invitation, token

    def find(self, token: str) -> Found:
        invitation = self.collection.find_one({"_id": hash_key(token)})
        if invitation is None or self.users.partners.current(invitation["partner_id"]) is None:
            return Found("unknown")
        if invitation["used_at"] is not None:
            return Found("used", invitation)
        if invitation["expires_at"] <= now():
            return Found("expired", invitation)
        return Found("open", invitation)

    def accept(self, token: str, name: str, password: str) -> Found:
        """Use the invitation (checked answers: `acceptance_errors`): the invitee becomes a
        user of its partner. Answers the invitation as found before, "open" if it made the
        user; any other state makes nothing. The claim (a write that checks the link is
        unused and current, so a link used twice at once makes one user) and the new user
        are one transaction: a failure between them leaves the link unused. If the address
        got a user meanwhile (another partner's invitation), EmailTaken, and nothing
        changes."""
        found = self.find(token)
        if found.state != "open":
            return found
        invitation = found.invitation

        def claim_and_create(session: ClientSession) -> bool:
            claimed = self.collection.update_one(
                {"_id": invitation["_id"], "used_at": None, "expires_at": {"$gt": now()}},
                {"$set": {"used_at": now()}},
                session=session,
            )
            if claimed.modified_count != 1:
                return False
            self.users.create_user(
                invitation["partner_id"],
                invitation["email"],
                name,
                invitation["role"],
                password,
                session,
            )
            return True

        try:
            made = mongo.in_transaction(self.collection.database, claim_and_create)
        except DuplicateKeyError as error:
            raise EmailTaken() from error
        return found if made else self.find(token)


def invitation_link(public_url: str, token: str) -> str:
    """The link to send: on intake's public address (Settings.public_url("referral"))."""
    return f"{public_url.rstrip('/')}{PATH}{token}"


# ---- the email -------------------------------------------------------------------------


def expiry_text(expires_at: datetime) -> str:
    """When a link stops working, as people here read it."""
    return expires_at.astimezone(UK).strftime("%-d %B %Y at %H:%M")


def send_invitation(
    settings: Settings, invitation: dict[str, Any], partner_name: str, link: str
) -> bool:
    """Email the invitation's link (through backbone.mail, as notifications sends);
    answers whether the mail server took it. A failure is logged, without the address."""
    until = expiry_text(invitation["expires_at"])
    text = (
        f"Hello {invitation['name']},\n\n"
        f"You are invited to refer families to Family Ties for {partner_name}.\n\n"
        f"To accept, open this link and choose a password:\n{link}\n\n"
        f"The link works once, until {until} (UK time).\n\n"
        "If you were not expecting this, you can ignore this email.\n"
    )
    email = new_email(
        settings,
        invitation["email"],
        f"You are invited to Family Ties referrals for {partner_name}",
        text,
        None,
        f"{uuid.uuid4()}@familyties.referral",
    )
    mailer = Mailer(settings)
    outcome = mailer.send(email)
    mailer.close()  # invitations are rare: no connection kept open
    if not outcome.delivered:
        log.warning("invitation not emailed", extra={"error": outcome.error})
    return outcome.delivered
