"""A second factor for accounts that sign in with a password: a TOTP authenticator app
(RFC 6238: 6 digits, 30-second steps) and ten recovery codes.

Each code is accepted once: the last time step used is kept, and a code of that step or an
earlier one is refused, so a code seen over someone's shoulder cannot be used again. A code
of the step before or after the server's is accepted too (phones' clocks drift). Recovery
codes are shown once, when made, and stored only as hashes; each works once. Wrong codes
are counted with wrong passwords (`checked_code`: backbone.accounts' lockout), so a code
cannot be guessed either.

The factors of one kind of account are kept in their own collection, by account id, apart
from the accounts: the secret is never part of the account that pages see as `g.caller`.
The secrets are stored sealed (backbone.sealing) and opened only to show the one being set
up or to check a code: a copy of the database does not give anyone's second factor."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import pyotp
import qrcode
import qrcode.image.svg
from pymongo.collection import Collection

from backbone.accounts import Accounts
from backbone.api_keys import hash_key
from backbone.clock import now
from backbone.sealing import Sealer, SealingError

RECOVERY_CODES = 10
# 16 characters of 31 (no 0/o, 1/l/i to confuse): about 79 random bits each, so a fast
# hash is safe (nothing to guess from), as for API keys.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 16
# How long a secret shown for setting up waits to be confirmed with a code.
PENDING_LASTING = timedelta(minutes=30)
_SIX_DIGITS = re.compile(r"[0-9]{6}")


# ---- the logic, without I/O ---------------------------------------------------------------


def new_secret() -> str:
    """A new TOTP secret: 160 random bits, in base32 as authenticator apps take it."""
    return pyotp.random_base32()


def normalised(typed: str) -> str:
    """A code as typed, without the spaces and hyphens people put in, in lower case."""
    return re.sub(r"[\s-]+", "", typed).lower()


def is_app_code(typed: str) -> bool:
    """Whether what was typed has the shape of an authenticator app's code."""
    return _SIX_DIGITS.fullmatch(normalised(typed)) is not None


def matching_step(secret: str, typed: str, at: datetime, after: int = -1) -> int | None:
    """The time step whose code was typed: the step at `at`, or the one before or after
    it, if later than `after` (the last step used); else None."""
    code = normalised(typed)
    if not _SIX_DIGITS.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(at)
    for step in (current - 1, current, current + 1):
        if step > after and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten recovery codes, each as people read it: four groups of four characters."""
    codes = []
    for _ in range(RECOVERY_CODES):
        code = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append("-".join(code[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4)))
    return codes


def recovery_hash(typed: str) -> str:
    return hashlib.sha256(normalised(typed).encode()).hexdigest()


def authenticator_link(secret: str, account_name: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=issuer)


def qr_code_image(link: str) -> str:
    """The QR code of `link`, as an SVG in a data: address for an <img> (the pages'
    Content-Security-Policy allows inline images, and no script is needed)."""
    image = qrcode.make(link, image_factory=qrcode.image.svg.SvgPathFillImage, border=2)
    svg = image.to_string(encoding="unicode")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app that cannot read a QR code."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# ---- stored -------------------------------------------------------------------------------


class SecondFactors:
    """Accounts' second factors in `collection`, one document per account (its `_id` the
    account's): `secret`, `last_step`, `recovery_hashes`, `set_up_at`; or, while one is
    being set up, only `pending_secret`, `pending_until` and `pending_visit`. Both secrets
    are sealed with `sealer`; one stored in clear before sealing came in still works, and
    is sealed when its document is next written (set up again, or a code used)."""

    def __init__(self, collection: Collection, issuer: str, sealer: Sealer | None) -> None:
        """`sealer` None: a process holding no data key (a worker, a command), which may
        still ask whether an app is set up or forget one, but not seal or open a secret."""
        self.collection = collection
        self.issuer = issuer  # the name an authenticator app shows beside the code
        self.sealer = sealer

    def _sealer(self) -> Sealer:
        if self.sealer is None:
            raise SealingError("this process holds no data key: it cannot seal or open a secret")
        return self.sealer

    def ensure_indexes(self) -> None:
        pass  # read by _id only

    def is_set_up(self, account_id: str) -> bool:
        return (
            self.collection.count_documents({"_id": account_id, "secret": {"$type": "string"}}) > 0
        )

    def set_up_among(self, account_ids: list[str]) -> set[str]:
        """Those of the accounts that have a second factor."""
        found = self.collection.find(
            {"_id": {"$in": account_ids}, "secret": {"$type": "string"}}, {"_id": 1}
        )
        return {document["_id"] for document in found}

    def pending_secret(self, account_id: str, visit: str) -> str:
        """The secret to show an account setting up its app in this `visit` (a random
        token the browser's session holds): the one shown before, while it waits to be
        confirmed (reloading the page shows the same QR code), else a new one. Another
        visit (another browser) gets a new secret, which replaces this one: nobody else
        sees the secret someone is about to confirm."""
        at = now()
        found = self.collection.find_one({"_id": account_id}) or {}
        if (
            found.get("pending_secret")
            and found["pending_until"] > at
            and found.get("pending_visit") == hash_key(visit)
        ):
            return self._sealer().open(found["pending_secret"])
        secret = new_secret()
        pending = {
            "pending_secret": self._sealer().seal(secret),
            "pending_until": at + PENDING_LASTING,
            "pending_visit": hash_key(visit),
        }
        self.collection.update_one({"_id": account_id}, {"$set": pending}, upsert=True)
        return secret

    def confirm(self, account_id: str, visit: str, typed: str) -> list[str] | None:
        """Make the secret pending for this `visit` the account's, if `typed` is its
        current code and the account has no second factor yet (to change one, it is turned
        off first, with a code); answer the new recovery codes (to be shown this once), or
        None if the code is not right or nothing is pending."""
        at = now()
        found = self.collection.find_one({"_id": account_id}) or {}
        stored = found.get("pending_secret")
        if not stored or found["pending_until"] <= at or "secret" in found:
            return None
        if found.get("pending_visit") != hash_key(visit):
            return None
        step = matching_step(self._sealer().open(stored), typed, at)
        if step is None:
            return None
        codes = new_recovery_codes()
        changed = self.collection.update_one(
            {"_id": account_id, "pending_secret": stored, "secret": {"$exists": False}},
            {
                "$set": _factor(self._sealer().resealed(stored), step, codes, at),
                "$unset": {"pending_secret": "", "pending_until": "", "pending_visit": ""},
            },
        )
        return codes if changed.modified_count == 1 else None

    def set_up(self, account_id: str, secret: str) -> list[str]:
        """Give the account this secret at once, no code asked: for tests and for setting
        up a known test account. Answers its new recovery codes."""
        codes = new_recovery_codes()
        self.collection.update_one(
            {"_id": account_id},
            {"$set": _factor(self._sealer().seal(secret), -1, codes, now())},
            upsert=True,
        )
        return codes

    def use_code(self, account_id: str, typed: str, recovery: bool = True) -> bool:
        """Whether `typed` is a code the account has not used: its app's (for the step
        before, at or after now, later than the last used) or, if `recovery`, one of its
        recovery codes. Either is used up by this. The update's filter makes the check
        and the use one write, so the same code sent twice at once passes once."""
        found = self.collection.find_one({"_id": account_id, "secret": {"$type": "string"}})
        if found is None:
            return False
        if is_app_code(typed):
            secret = self._sealer().open(found["secret"])
            step = matching_step(secret, typed, now(), after=found["last_step"])
            if step is None:
                return False
            # The write that uses the code also seals a secret kept in clear from before, or
            # seals it again under the newest key (backbone.sealing: rotation).
            changed = self.collection.update_one(
                {"_id": account_id, "secret": found["secret"], "last_step": {"$lt": step}},
                {"$set": {"last_step": step, "secret": self._sealer().resealed(found["secret"])}},
            )
            return changed.modified_count == 1
        if not recovery or not normalised(typed):
            return False
        hashed = recovery_hash(typed)
        changed = self.collection.update_one(
            {"_id": account_id, "recovery_hashes": hashed}, {"$pull": {"recovery_hashes": hashed}}
        )
        return changed.modified_count == 1

    def recovery_codes_left(self, account_id: str) -> int:
        found = self.collection.find_one({"_id": account_id}, {"recovery_hashes": 1}) or {}
        return len(found.get("recovery_hashes", []))

    def new_recovery_codes(self, account_id: str) -> list[str] | None:
        """Replace the account's recovery codes (the old ones stop working); None if it
        has no second factor."""
        codes = new_recovery_codes()
        changed = self.collection.update_one(
            {"_id": account_id, "secret": {"$type": "string"}},
            {"$set": {"recovery_hashes": [recovery_hash(code) for code in codes]}},
        )
        return codes if changed.modified_count == 1 else None

    def turn_off(self, account_id: str) -> None:
        self.collection.delete_one({"_id": account_id})


def checked_code(
    accounts: Accounts,
    factors: SecondFactors,
    account: dict[str, Any],
    typed: str,
    recovery: bool = True,
) -> bool:
    """`factors.use_code`, counted with the account's password attempts: LockedOut (not
    checked) after MAX_FAILURES wrong passwords and codes within LOCKOUT; a right code
    clears the count, as a right password alone does for an account without a factor."""
    accounts.record_attempt(account["username"])
    if not factors.use_code(account["_id"], typed, recovery):
        return False
    accounts.clear_attempts(account["username"])
    return True


def _factor(sealed: str, step: int, codes: list[str], at: datetime) -> dict[str, Any]:
    return {
        "secret": sealed,
        "last_step": step,
        "recovery_hashes": [recovery_hash(code) for code in codes],
        "set_up_at": at,
    }
