"""Casework's staff sign in with a password and an authenticator app's code, every one of
them, always (services/casework/app.py), against the real database: setting one up at the
first sign-in, codes and recovery codes, the lockout they share with passwords, the
command for a lost phone, and API keys, which need no second factor."""

from __future__ import annotations

import json
import re
import time

import pyotp
import pytest

from backbone.accounts import MAX_FAILURES
from backbone.sealing import is_sealed
from backbone.sign_in import LOCKED_OUT, LOCKED_OUT_CODES, WRONG_CODE
from tests.casework_staff import APPS, BASE, PASSWORD, app_of, new_client, sign_in, staff_member
from tests.integration.conftest import error_summary
from tests.integration.partner_site import post_form, secret_shown


@pytest.fixture
def staff(casework):
    return casework.staff


def _password(client, username: str = "casey"):
    return post_form(client, "/sign-in", {"username": username, "password": PASSWORD}, base=BASE)


def _code(client, code: str):
    return post_form(client, "/sign-in/second-factor", {"code": code}, base=BASE)


def _signed_in(client) -> bool:
    return client.get(f"{BASE}/cases").status_code == 200


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_without_an_app_the_password_leads_to_setting_one_up_and_no_session(casework_app, staff):
    casey, _ = staff.create_account("casey", "Casey Coordinator", "coordinator", PASSWORD)
    client = new_client(casework_app)
    checked = _password(client)
    assert checked.headers["Location"].endswith("/second-factor/set-up")
    assert not _signed_in(client)
    assert staff.sessions.count_documents({"account_id": casey["_id"]}) == 0

    page = client.get(f"{BASE}/second-factor/set-up")
    assert page.status_code == 200 and 'src="data:image/svg+xml;base64,' in _html(page)
    secret = secret_shown(_html(page))
    totp = pyotp.TOTP(secret)
    wrong = totp.generate_otp(int(time.time() // 30) + 10)  # five minutes from now
    refused = post_form(client, "/second-factor/set-up", {"code": wrong}, base=BASE)
    assert refused.status_code == 400
    assert not staff.second_factors.is_set_up(casey["_id"]) and not _signed_in(client)

    done = post_form(client, "/second-factor/set-up", {"code": totp.now()}, base=BASE)
    assert done.status_code == 200
    assert _html(done).count("<li><code>") == 10  # the recovery codes, shown once
    assert staff.second_factors.is_set_up(casey["_id"])
    assert _signed_in(client)
    assert staff.sessions.count_documents({"account_id": casey["_id"]}) == 1
    # As a backup would copy it, the stored secret is sealed (backbone.sealing).
    stored = staff.second_factors.collection.find_one({"_id": casey["_id"]})
    assert is_sealed(stored["secret"]) and secret not in repr(stored)

    # From now on: the password, then a code.
    assert _password(new_client(casework_app)).headers["Location"].endswith("/second-factor")


def test_a_session_from_before_second_factors_ends_and_the_app_is_set_up_next(casework_app, staff):
    casey, _ = staff.create_account("casey", "Casey Coordinator", "coordinator", PASSWORD)
    client = new_client(casework_app)
    with client.session_transaction(base_url=BASE) as cookie:  # as a password alone made it
        cookie["token"] = staff.start_session(casey["_id"], casework_app.permanent_session_lifetime)
    answer = client.get(f"{BASE}/cases")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/sign-in")
    assert staff.sessions.count_documents({"account_id": casey["_id"]}) == 0
    assert _password(client).headers["Location"].endswith("/second-factor/set-up")


def test_a_right_code_signs_in_and_a_wrong_one_is_refused(casework_app, staff):
    staff_member(staff, "casey", "Casey Coordinator", "coordinator")
    client = new_client(casework_app)
    _password(client)
    wrong = _code(client, "not-a-code")
    assert wrong.status_code == 401
    assert error_summary(_html(wrong)) == [WRONG_CODE]
    assert not _signed_in(client)
    assert _code(client, app_of(staff, "casey").code()).status_code == 302
    assert _signed_in(client)


def test_an_unused_recovery_code_signs_in_once(casework_app, staff):
    casey = staff_member(staff, "casey", "Casey Coordinator", "coordinator")
    recovery = APPS[casey["_id"]].recovery_codes[0]
    first = new_client(casework_app)
    _password(first)
    assert _code(first, recovery).status_code == 302
    assert _signed_in(first)
    assert staff.second_factors.recovery_codes_left(casey["_id"]) == 9

    again = new_client(casework_app)
    _password(again)
    assert _code(again, recovery).status_code == 401  # used
    assert not _signed_in(again)


def test_new_recovery_codes_take_the_apps_code_and_replace_the_old_ones(casework_app, staff):
    casey = staff_member(staff, "casey", "Casey Coordinator", "coordinator")
    old = APPS[casey["_id"]].recovery_codes
    client = new_client(casework_app)
    sign_in(client, staff, "casey")
    assert "Make new recovery codes" in _html(client.get(f"{BASE}/cases"))
    page = client.get(f"{BASE}/account/recovery-codes")
    assert page.status_code == 200 and "You have 10 unused recovery codes" in _html(page)

    path = "/account/recovery-codes"
    refused = post_form(client, path, {"code": old[0]}, base=BASE)  # only the phone will do
    assert refused.status_code == 400
    made = post_form(client, path, {"code": app_of(staff, "casey").code()}, base=BASE)
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    new = re.findall(r"<li><code>([a-z2-9-]+)</code></li>", _html(made))
    assert len(new) == 10 and not set(new) & set(old)
    assert not staff.second_factors.use_code(casey["_id"], old[1])
    assert staff.second_factors.use_code(casey["_id"], new[1])


def test_wrong_codes_count_with_wrong_passwords_until_the_account_is_locked(casework_app, staff):
    staff_member(staff, "casey", "Casey Coordinator", "coordinator")
    client = new_client(casework_app)
    _password(client)  # attempt 1: right, but counted until a right code
    for _ in range(MAX_FAILURES - 1):
        assert _code(client, "000000").status_code == 401
    locked = _code(client, app_of(staff, "casey").code())  # right, but one too many
    assert locked.status_code == 429
    assert error_summary(_html(locked)) == [LOCKED_OUT_CODES]
    assert not _signed_in(client)
    refused = _password(new_client(casework_app))
    assert refused.status_code == 429
    assert error_summary(_html(refused)) == [LOCKED_OUT]


def test_the_reset_command_ends_their_sessions_and_they_set_up_a_new_app(
    casework_app, staff, familyties
):
    casey = staff_member(staff, "casey", "Casey Coordinator", "coordinator")
    staff_member(staff, "robin", "Robin Coordinator", "coordinator")
    client, robin = new_client(casework_app), new_client(casework_app)
    sign_in(client, staff, "casey")
    sign_in(robin, staff, "robin")

    result = familyties("casework", "staff", "reset-second-factor", "Casey")
    assert result.exit_code == 0, result.output
    assert "casey is signed out everywhere" in result.output
    assert not _signed_in(client)
    assert _signed_in(robin)  # nobody else's
    assert not staff.second_factors.is_set_up(casey["_id"])
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    [logged] = [line for line in lines if line["message"] == "staff second factor reset"]
    assert logged["staff_id"] == casey["_id"]
    assert "casey" not in json.dumps(logged).lower()  # ids, not names

    # The old app's codes and recovery codes are no more: a new app is set up.
    assert _password(client).headers["Location"].endswith("/second-factor/set-up")
    assert client.get(f"{BASE}/sign-in/second-factor").status_code == 302

    unknown = familyties("casework", "staff", "reset-second-factor", "nobody")
    assert unknown.exit_code == 1
    assert "No active account has the username nobody" in unknown.output


def test_a_staff_api_key_needs_no_second_factor(casework_app, staff):
    _, key = staff.create_account("casey", "Casey Coordinator", "coordinator", PASSWORD)
    answer = casework_app.test_client().get("/v1/cases", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200
