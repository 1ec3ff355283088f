"""The second factor's logic, without I/O: which codes match which time step, recovery
codes, and what the set-up page shows."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from backbone.second_factor import (
    RECOVERY_CODES,
    authenticator_link,
    grouped,
    is_app_code,
    matching_step,
    new_recovery_codes,
    new_secret,
    normalised,
    qr_code_image,
    recovery_hash,
)

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
AT = datetime(2026, 11, 24, 9, 30, 10, tzinfo=UTC)
STEP = int(AT.timestamp()) // 30


def code(steps_from_now: int) -> str:
    return pyotp.TOTP(SECRET).at(AT + timedelta(seconds=30 * steps_from_now))


def test_the_current_code_matches_the_current_step():
    assert matching_step(SECRET, code(0), AT) == STEP


@pytest.mark.parametrize("drift", [-1, 1])
def test_a_code_one_step_early_or_late_matches_that_step(drift):
    assert matching_step(SECRET, code(drift), AT) == STEP + drift


@pytest.mark.parametrize("drift", [-3, -2, 2, 3])
def test_a_code_two_or_more_steps_away_does_not_match(drift):
    assert code(drift) != code(0)
    assert matching_step(SECRET, code(drift), AT) is None


def test_a_code_of_a_step_already_used_or_earlier_does_not_match():
    assert matching_step(SECRET, code(0), AT, after=STEP) is None
    assert matching_step(SECRET, code(-1), AT, after=STEP - 1) is None
    # A later code still does, after an earlier one was used.
    assert matching_step(SECRET, code(1), AT, after=STEP) == STEP + 1


def test_another_secrets_code_does_not_match():
    other = pyotp.TOTP("KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU").at(AT)
    assert matching_step(SECRET, other, AT) is None


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_what_is_not_six_digits_matches_nothing(typed):
    assert matching_step(SECRET, typed, AT) is None
    assert not is_app_code(typed)


def test_spaces_and_hyphens_people_type_are_ignored():
    typed = code(0)[:3] + " - " + code(0)[3:]
    assert is_app_code(typed)
    assert matching_step(SECRET, typed, AT) == STEP


def test_recovery_codes_are_ten_different_readable_codes_of_about_79_bits():
    codes = new_recovery_codes()
    assert len(codes) == RECOVERY_CODES == 10
    assert len(set(codes)) == 10
    for one in codes:
        groups = one.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert set("".join(groups)) <= set("abcdefghjkmnpqrstuvwxyz23456789")
    assert not any(is_app_code(one) for one in codes)  # never taken for an app's code


def test_a_recovery_code_typed_in_capitals_with_spaces_has_the_same_hash():
    [one, other, *_] = new_recovery_codes()
    typed = one.upper().replace("-", " ")
    assert normalised(typed) == one.replace("-", "")
    assert recovery_hash(typed) == recovery_hash(one)
    assert recovery_hash(other) != recovery_hash(one)
    assert one not in recovery_hash(one)


def test_the_authenticator_link_names_the_service_and_the_account():
    link = authenticator_link(SECRET, "casey@glasgow.example", "Family Ties referrals")
    assert link.startswith("otpauth://totp/Family%20Ties%20referrals:casey%40glasgow.example?")
    assert f"secret={SECRET}" in link and "issuer=Family%20Ties%20referrals" in link


def test_the_qr_code_is_an_inline_svg_image():
    image = qr_code_image(authenticator_link(SECRET, "casey@glasgow.example", "Family Ties"))
    prefix = "data:image/svg+xml;base64,"
    assert image.startswith(prefix)
    svg = base64.b64decode(image.removeprefix(prefix)).decode()
    assert svg.startswith("<svg") and "<path" in svg and "<script" not in svg


def test_the_secret_is_shown_in_groups_of_four_for_typing():
    assert grouped(SECRET) == "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP"
    assert len(new_secret()) == 32  # 160 bits
