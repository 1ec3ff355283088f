"""Sealing the few secrets the services keep and must read back (partner users' TOTP
secrets, webhook signing secrets): they cannot be hashed, as passwords and API keys are,
so they are encrypted instead, and a copy of a database (a backup) does not hand them over.

Fernet (AES-128-CBC with HMAC-SHA256) under MultiFernet: the first key of
FAMILYTIES_DATA_KEYS seals, every key opens. To rotate, add the new key last everywhere,
then put it first (so no process meets a value sealed with a key it lacks), and keep the
old ones while anything sealed with them remains: a value is sealed again under the first
key only when it is written (`resealed`), never all at once."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from backbone.settings import Settings

SETTING = "FAMILYTIES_DATA_KEYS"
_VERSION = 0x80  # the first byte of every Fernet token
# version, timestamp, IV and HMAC around a ciphertext of whole 16-byte blocks
_OVERHEAD = 1 + 8 + 16 + 32
_BLOCK = 16


class SealingError(Exception):
    """A key that is not a Fernet key, or a sealed value that no key opens: the setting is
    wrong (or a key was dropped too soon), and no secret can be trusted until it is fixed."""


class Sealer:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SealingError(f"{SETTING} holds no key")
        try:
            self._fernets = [Fernet(key) for key in keys]
        except (ValueError, TypeError):
            raise SealingError(
                f"{SETTING} must be Fernet keys (32 url-safe base64 bytes each), comma separated"
            ) from None
        self._any = MultiFernet(self._fernets)

    @classmethod
    def from_settings(cls, settings: Settings) -> Sealer:
        """The sealer of a process that seals or opens secrets, made at its start so that a
        missing or malformed key stops it there, not at someone's sign-in."""
        if settings.data_keys is None and settings.data_keys_required:
            raise SealingError(f"{SETTING} (or {SETTING}_FILE) must be set here")
        return cls(settings.data_keys_in_use())

    def seal(self, text: str) -> str:
        return self._fernets[0].encrypt(text.encode()).decode()

    def open(self, stored: str) -> str:
        """The text of a stored value. A value that is no Fernet token was stored in clear,
        before sealing came in: it is taken as it is (and sealed when next written)."""
        if not is_sealed(stored):
            return stored
        try:
            return self._any.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise SealingError(
                f"a sealed secret opens with no key of {SETTING}: the key is wrong, or the one "
                "that sealed it was removed"
            ) from None

    def resealed(self, stored: str) -> str:
        """A stored value as it is to be written back: itself if the first key sealed it,
        else (clear text from before sealing, or sealed with an older key) sealed anew."""
        if is_sealed(stored):
            try:
                self._fernets[0].decrypt(stored.encode())
                return stored
            except InvalidToken:
                pass
        return self.seal(self.open(stored))


def is_sealed(stored: str) -> bool:
    """Whether `stored` has the shape of a Fernet token. The secrets stored in clear before
    cannot: a TOTP secret is upper-case base32, a webhook secret begins `whsec_`."""
    try:
        raw = base64.b64decode(stored, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) > _OVERHEAD and raw[0] == _VERSION and (len(raw) - _OVERHEAD) % _BLOCK == 0
