"""Sealing stored secrets, without I/O: what is sealed opens, under rotated keys too; what
no key opens fails naming the setting; what was stored in clear before opens as itself."""

from __future__ import annotations

import dataclasses
import stat

import pytest
from cryptography.fernet import Fernet

from backbone.sealing import Sealer, SealingError, is_sealed
from backbone.settings import Secret, Settings

OLD, NEW, UNKNOWN = (Fernet.generate_key().decode() for _ in range(3))
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.mark.parametrize("text", [TOTP_SECRET, WEBHOOK_SECRET, "", "é and more"])
def test_what_is_sealed_opens_as_it_was_and_does_not_show_it(text):
    sealer = Sealer([NEW])
    sealed = sealer.seal(text)
    assert is_sealed(sealed)
    assert text == "" or text not in sealed
    assert sealer.open(sealed) == text
    assert sealer.seal(text) != sealed  # a new IV each time: equal secrets do not show


def test_a_value_sealed_with_the_old_key_opens_after_a_new_key_is_put_first():
    sealed = Sealer([OLD]).seal(TOTP_SECRET)
    rotated = Sealer([NEW, OLD])
    assert rotated.open(sealed) == TOTP_SECRET
    assert Sealer([NEW]).open(rotated.seal(TOTP_SECRET)) == TOTP_SECRET  # the first key seals


def test_a_value_no_key_opens_fails_naming_the_setting():
    sealed = Sealer([UNKNOWN]).seal(WEBHOOK_SECRET)
    with pytest.raises(SealingError, match="FAMILYTIES_DATA_KEYS") as failed:
        Sealer([NEW, OLD]).open(sealed)
    assert WEBHOOK_SECRET not in str(failed.value)


def test_a_damaged_sealed_value_fails_too():
    sealed = Sealer([NEW]).seal(TOTP_SECRET)
    damaged = sealed[:-8] + ("A" if sealed[-8] != "A" else "B") + sealed[-7:]
    with pytest.raises(SealingError, match="FAMILYTIES_DATA_KEYS"):
        Sealer([NEW]).open(damaged)


@pytest.mark.parametrize("clear", [TOTP_SECRET, WEBHOOK_SECRET])
def test_a_secret_stored_in_clear_before_sealing_opens_as_itself(clear):
    assert not is_sealed(clear)
    assert Sealer([NEW]).open(clear) == clear


def test_resealed_seals_clear_text_and_old_keys_values_and_keeps_the_newest():
    sealer = Sealer([NEW, OLD])
    from_clear = sealer.resealed(TOTP_SECRET)
    from_old = sealer.resealed(Sealer([OLD]).seal(TOTP_SECRET))
    assert Sealer([NEW]).open(from_clear) == TOTP_SECRET
    assert Sealer([NEW]).open(from_old) == TOTP_SECRET
    current = sealer.seal(TOTP_SECRET)
    assert sealer.resealed(current) == current  # nothing to write


@pytest.mark.parametrize("keys", [[], ["not a key"], [NEW, "short"]])
def test_keys_that_are_not_fernet_keys_are_refused_naming_the_setting(keys):
    with pytest.raises(SealingError, match="FAMILYTIES_DATA_KEYS"):
        Sealer(keys)


def test_the_setting_gives_its_keys_newest_first():
    settings = Settings(data_keys=Secret(f"{NEW}, {OLD}\n"))
    assert settings.data_keys_in_use() == [NEW, OLD]
    assert Sealer.from_settings(settings).open(Sealer([OLD]).seal("x")) == "x"


def test_unset_a_key_is_made_once_and_kept_for_this_user_only(tmp_path):
    settings = Settings(var_dir=tmp_path / "var")
    keys = settings.data_keys_in_use()
    assert len(keys) == 1 and Sealer(keys)
    assert dataclasses.replace(settings).data_keys_in_use() == keys  # after a restart too
    kept = tmp_path / "var" / "data-key"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert settings.secret_key() != keys[0]  # the session's key is another, kept beside it
    assert stat.S_IMODE((tmp_path / "var" / "session-secret").stat().st_mode) == 0o600


def test_where_keys_are_required_a_process_that_seals_refuses_to_start_without_them(tmp_path):
    # The image's var_dir is a tmpfs: a key made there would be lost at a restart.
    settings = Settings(var_dir=tmp_path / "var", data_keys_required=True)
    with pytest.raises(SealingError, match="FAMILYTIES_DATA_KEYS"):
        Sealer.from_settings(settings)
    assert not (tmp_path / "var" / "data-key").exists()
    given = dataclasses.replace(settings, data_keys=Secret(NEW))
    assert Sealer.from_settings(given).open(Sealer([NEW]).seal("x")) == "x"
