"""Partner users' accounts against the real database and mail server: signing in with a
second factor, an organisation that requires one, invitations by email, removing users,
and refusals that change nothing."""

from __future__ import annotations

import dataclasses
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from backbone.accounts import MAX_FAILURES
from backbone.clock import now
from backbone.second_factor_pages import ENTER_APP_CODE
from backbone.sign_in import ENTER_CODE, LOCKED_OUT, LOCKED_OUT_CODES, WRONG_CODE
from services.referral.app import create_app
from services.referral.invitations import (
    BAD_EMAIL,
    CHOOSE_ROLE,
    EMAIL_TAKEN,
    ENTER_EMAIL,
    ENTER_NAME,
    ENTER_OWN_NAME,
    ENTER_PASSWORD,
    LONG_NAME,
    NAME_CHARACTERS,
    PASSWORDS_DIFFER,
    SHORT_PASSWORD,
)
from services.referral.pages.account import CHOOSE_REQUIRED
from tests.integration.conftest import error_summary
from tests.integration.partner_site import (
    BASE,
    PASSWORD,
    app_code,
    browser,
    partner_with_users,
    post_form,
    secret_shown,
    token,
    user_with_second_factor,
)
from tests.mail_catcher import recipients, subject, text
from tests.servers import free_port

ADMIN = "ailsa.admin@glasgow.example"
REFERRER = "alex.lifecoach@glasgow.example"
NEW_PASSWORD = "a long new password"


def _app(settings, **changes):
    return create_app(dataclasses.replace(settings, public_urls={"referral": BASE}, **changes))


@pytest.fixture
def app(settings, mail):
    return _app(settings, smtp_port=mail.smtp_port)


@pytest.fixture
def site(app):
    glasgow = partner_with_users(
        app,
        "Routes out of Prison Glasgow",
        (ADMIN, "Ailsa Admin", "admin"),
        (REFERRER, "Alex Lifecoach", "referrer"),
    )
    leeds = partner_with_users(
        app, "Leeds Family Contact", ("sam.officer@leeds.example", "Sam Officer", "admin")
    )
    return {"app": app, "glasgow": glasgow, "leeds": leeds}


def _db(app):
    return app.extensions["partner_users"].collection.database


def _html(response) -> str:
    return response.get_data(as_text=True)


def _signed_in(client) -> bool:
    answer = client.get(f"{BASE}/account")
    return answer.status_code == 200


def _with_factor(site, email="casey.referrer@glasgow.example", role="referrer") -> dict:
    partner_id = site["glasgow"]["partner"]["_id"]
    return user_with_second_factor(site["app"], partner_id, email, "Casey Referrer", role)


def _password(client, email: str, password: str = PASSWORD):
    return post_form(client, "/sign-in", {"username": email, "password": password})


def _code(client, code: str):
    return post_form(client, "/sign-in/second-factor", {"code": code})


# ---- signing in with a second factor -------------------------------------------------------


def test_a_user_with_an_app_signs_in_with_password_and_then_code(site):
    factor = _with_factor(site)
    client = browser(site["app"], None)
    checked = _password(client, "casey.referrer@glasgow.example")
    assert checked.status_code == 302
    assert checked.headers["Location"].endswith("/sign-in/second-factor")
    assert not _signed_in(client)  # the password alone starts no session
    assert _db(site["app"]).partner_sessions.count_documents({}) == 0

    signed = _code(client, app_code(factor["secret"]))
    assert signed.status_code == 302
    assert _signed_in(client)
    assert "Routes out of Prison Glasgow" in _html(client.get(f"{BASE}/referrals"))


def test_a_code_is_accepted_once(site):
    factor = _with_factor(site)
    code = app_code(factor["secret"])
    first = browser(site["app"], None)
    _password(first, "casey.referrer@glasgow.example")
    assert _code(first, code).status_code == 302

    second = browser(site["app"], None)
    _password(second, "casey.referrer@glasgow.example")
    replayed = _code(second, code)
    assert replayed.status_code == 401
    assert error_summary(_html(replayed)) == [WRONG_CODE]
    assert not _signed_in(second)


def test_the_same_code_sent_many_times_at_once_is_accepted_once(site):
    factor = _with_factor(site)
    factors = site["app"].extensions["partner_users"].second_factors
    code = app_code(factor["secret"])
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: factors.use_code(factor["user"]["_id"], code), range(8)))
    assert answers.count(True) == 1


def test_a_recovery_code_signs_in_once(site):
    factor = _with_factor(site)
    recovery = factor["recovery_codes"][3]
    first = browser(site["app"], None)
    _password(first, "casey.referrer@glasgow.example")
    assert _code(first, recovery.upper().replace("-", " ")).status_code == 302  # as typed
    assert _signed_in(first)
    factors = site["app"].extensions["partner_users"].second_factors
    assert factors.recovery_codes_left(factor["user"]["_id"]) == 9

    again = browser(site["app"], None)
    _password(again, "casey.referrer@glasgow.example")
    assert _code(again, recovery).status_code == 401
    assert not _signed_in(again)


def test_wrong_codes_count_with_wrong_passwords_until_the_account_is_locked(site):
    factor = _with_factor(site)
    client = browser(site["app"], None)
    _password(client, "casey.referrer@glasgow.example")  # attempt 1, right, not cleared
    for _ in range(MAX_FAILURES - 1):
        assert _code(client, "000000").status_code == 401
    locked = _code(client, app_code(factor["secret"]))  # right, but one too many
    assert locked.status_code == 429
    assert error_summary(_html(locked)) == [LOCKED_OUT_CODES]
    assert not _signed_in(client)
    # A right password gets no second chance at codes: the lockout holds for both.
    other = browser(site["app"], None)
    refused = _password(other, "casey.referrer@glasgow.example")
    assert refused.status_code == 429
    assert error_summary(_html(refused)) == [LOCKED_OUT]


def test_an_empty_code_is_asked_for_again_and_not_counted(site):
    factor = _with_factor(site)
    client = browser(site["app"], None)
    _password(client, "casey.referrer@glasgow.example")
    empty = _code(client, "  ")
    assert empty.status_code == 400
    assert error_summary(_html(empty)) == [ENTER_CODE]
    assert 'id="code-error"' in _html(empty)
    attempts = _db(site["app"]).partner_sign_in_attempts
    assert attempts.count_documents({}) == 1  # the password's only
    assert _code(client, app_code(factor["secret"])).status_code == 302
    assert attempts.count_documents({}) == 0  # a right code clears the count


def test_the_code_page_without_a_password_checked_sends_to_sign_in(site):
    client = browser(site["app"], None)
    answer = client.get(f"{BASE}/sign-in/second-factor")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/sign-in")


def test_a_user_without_an_app_still_signs_in_with_a_password(site):
    client = browser(site["app"], REFERRER)
    assert _signed_in(client)


# ---- an organisation that requires a second factor -------------------------------------


def _require(site, required: bool = True) -> None:
    site["app"].extensions["partners"].require_second_factor(
        site["glasgow"]["partner"]["_id"], required
    )


def test_a_user_without_an_app_sets_one_up_before_any_page_when_required(site):
    _require(site)
    client = browser(site["app"], None)
    checked = _password(client, REFERRER)
    assert checked.headers["Location"].endswith("/second-factor/set-up")
    assert not _signed_in(client)

    page = client.get(f"{BASE}/second-factor/set-up")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert 'src="data:image/svg+xml;base64,' in _html(page)
    secret = secret_shown(_html(page))

    wrong = post_form(client, "/second-factor/set-up", {"code": "123456"})
    assert wrong.status_code == 400
    assert error_summary(_html(wrong))
    referrer_id = site["glasgow"]["users"][1]["_id"]
    factors = site["app"].extensions["partner_users"].second_factors
    assert not factors.is_set_up(referrer_id) and not _signed_in(client)

    done = post_form(client, "/second-factor/set-up", {"code": app_code(secret)})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9-]+)</code></li>", _html(done))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert factors.is_set_up(referrer_id)
    assert _signed_in(client)
    # The codes are shown once: only their hashes are kept.
    assert codes[0] not in str(_db(site["app"]).partner_second_factors.find_one())

    later = browser(site["app"], REFERRER, secret, steps_ahead=1)
    assert _signed_in(later)


def test_a_user_signed_in_when_it_becomes_required_gives_the_password_again_first(site):
    """A session started with the password alone ends, so whoever holds it cannot enrol
    an app of their own: the password is asked again, then the app is set up."""
    client = browser(site["app"], REFERRER)
    _require(site)
    answer = client.get(f"{BASE}/referrals")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/sign-in")
    assert client.get(f"{BASE}/second-factor/set-up").headers["Location"].endswith("/sign-in")
    assert not _signed_in(client)
    checked = _password(client, REFERRER)
    assert checked.headers["Location"].endswith("/second-factor/set-up")


def test_the_secret_being_set_up_is_shown_to_one_browser_only(site):
    _require(site)
    first, second = browser(site["app"], None), browser(site["app"], None)
    _password(first, REFERRER)
    shown_first = secret_shown(_html(first.get(f"{BASE}/second-factor/set-up")))
    _password(second, REFERRER)
    shown_second = secret_shown(_html(second.get(f"{BASE}/second-factor/set-up")))
    assert shown_second != shown_first
    # The first browser's secret was replaced: its code no longer sets anything up.
    stale = post_form(first, "/second-factor/set-up", {"code": app_code(shown_first)})
    assert stale.status_code == 400
    factors = site["app"].extensions["partner_users"].second_factors
    assert not factors.is_set_up(site["glasgow"]["users"][1]["_id"])


def test_once_set_up_the_password_alone_cannot_replace_the_app(site):
    factor = _with_factor(site)
    other_session = browser(site["app"], "casey.referrer@glasgow.example", factor["secret"])
    client = browser(site["app"], None)
    _password(client, "casey.referrer@glasgow.example")
    answer = client.get(f"{BASE}/second-factor/set-up")
    assert answer.headers["Location"].endswith("/sign-in")
    assert _signed_in(other_session)


def test_setting_up_an_app_ends_the_accounts_other_sessions(site):
    elsewhere = browser(site["app"], REFERRER)
    client = browser(site["app"], REFERRER)
    secret = secret_shown(_html(client.get(f"{BASE}/second-factor/set-up")))
    done = post_form(client, "/second-factor/set-up", {"code": app_code(secret)})
    assert done.status_code == 200
    assert _signed_in(client)
    assert not _signed_in(elsewhere)


def test_an_app_cannot_be_turned_off_while_required_and_needs_a_code_otherwise(site):
    factor = _with_factor(site)
    client = browser(site["app"], "casey.referrer@glasgow.example", factor["secret"])
    factors = site["app"].extensions["partner_users"].second_factors
    _require(site)
    refused = post_form(client, "/account/second-factor/turn-off", {"code": "x"}, "/account")
    assert refused.status_code == 403
    _require(site, False)

    empty = post_form(client, "/account/second-factor/turn-off", {"code": ""})
    assert empty.status_code == 400 and error_summary(_html(empty)) == [ENTER_APP_CODE]
    wrong = post_form(client, "/account/second-factor/turn-off", {"code": "000000"})
    assert wrong.status_code == 401
    assert factors.is_set_up(factor["user"]["_id"])

    off = post_form(
        client, "/account/second-factor/turn-off", {"code": app_code(factor["secret"], 1)}
    )
    assert off.status_code == 302
    assert not factors.is_set_up(factor["user"]["_id"])
    assert "turned off" in _html(client.get(f"{BASE}/account"))


def test_new_recovery_codes_replace_the_old_ones(site):
    factor = _with_factor(site)
    client = browser(site["app"], "casey.referrer@glasgow.example", factor["secret"])
    wrong = post_form(client, "/account/recovery-codes", {"code": "000000"})
    assert wrong.status_code == 401
    made = post_form(client, "/account/recovery-codes", {"code": app_code(factor["secret"], 1)})
    assert made.status_code == 200
    new = re.findall(r"<li><code>([a-z2-9-]+)</code></li>", _html(made))
    assert len(new) == 10

    old = browser(site["app"], None)
    _password(old, "casey.referrer@glasgow.example")
    assert _code(old, factor["recovery_codes"][0]).status_code == 401
    assert _code(old, new[0]).status_code == 302


# ---- your organisation's users ---------------------------------------------------------


def test_a_referrer_cannot_see_or_change_the_organisations_users(site):
    client = browser(site["app"], REFERRER)
    admin_id = site["glasgow"]["users"][0]["_id"]
    for path in ("/users", "/users/invite", f"/users/{admin_id}/remove", "/users/second-factor"):
        assert client.get(f"{BASE}{path}").status_code == 403, path
    page = client.get(f"{BASE}/account")
    refused = post_form(
        client,
        "/users/invite",
        {"email": "new.person@glasgow.example", "name": "New Person", "role": "admin"},
        "/account",
    )
    assert refused.status_code == 403
    assert 'href="/users"' not in _html(page)
    assert _db(site["app"]).partner_invitations.count_documents({}) == 0


def test_an_admin_sees_only_their_organisations_users(site):
    page = _html(browser(site["app"], ADMIN).get(f"{BASE}/users"))
    assert REFERRER in page and ADMIN in page
    assert "sam.officer@leeds.example" not in page


def _invite(client, email="jo.new@glasgow.example", name="Jo New", role="referrer"):
    return post_form(client, "/users/invite", {"email": email, "name": name, "role": role})


def _link(email: dict) -> str:
    return re.search(r"https://referrals\.example/invitations/\S+", text(email)).group(0)


def _accept(name="Jo New", password=NEW_PASSWORD, confirmation=None):
    return {"name": name, "password": password, "confirmation": confirmation or password}


def test_an_admin_invites_by_email_and_the_invitee_accepts_and_signs_in(site, mail):
    admin = browser(site["app"], ADMIN)
    invited = _invite(admin, email="Jo.New@Glasgow.example")
    assert invited.status_code == 200
    assert "Invitation sent" in _html(invited)
    [email] = mail.wait_for(1)
    assert recipients(email) == ["jo.new@glasgow.example"]
    assert "Routes out of Prison Glasgow" in subject(email)
    link = _link(email)
    path = link.removeprefix(BASE)
    stored = _db(site["app"]).partner_invitations.find_one()
    assert path.rsplit("/", 1)[1] not in str(stored)  # only the token's hash is kept

    invitee = browser(site["app"], None)
    page = invitee.get(link)
    assert page.status_code == 200 and "jo.new@glasgow.example" in _html(page)
    accepted = post_form(invitee, path, _accept(name="  Jo   New "))
    assert accepted.status_code == 200
    assert "Your account is ready" in _html(accepted)

    jo = browser(site["app"], None)
    assert _password(jo, "jo.new@glasgow.example", NEW_PASSWORD).status_code == 302
    assert _signed_in(jo)
    users = _html(admin.get(f"{BASE}/users"))
    assert "Jo New" in users and "jo.new@glasgow.example" in users


def test_when_the_email_cannot_be_sent_the_admin_is_shown_the_link(settings, mail):
    app = _app(settings, smtp_port=free_port())  # nothing listens there
    partner_with_users(app, "Routes out of Prison Glasgow", (ADMIN, "Ailsa Admin", "admin"))
    invited = _invite(browser(app, ADMIN))
    assert invited.status_code == 200
    page = _html(invited)
    assert "could not be sent" in page
    link = re.search(r'id="invitation-link">([^<]+)</code>', page).group(1)
    invitee = browser(app, None)
    path = link.removeprefix(BASE)
    assert post_form(invitee, path, _accept()).status_code == 200
    assert _password(browser(app, None), "jo.new@glasgow.example", NEW_PASSWORD).status_code == 302
    assert mail.emails() == []


def test_a_used_link_is_refused_and_makes_nobody(site, mail):
    _invite(browser(site["app"], ADMIN))
    path = _link(mail.wait_for(1)[0]).removeprefix(BASE)
    invitee = browser(site["app"], None)
    assert post_form(invitee, path, _accept()).status_code == 200
    users = _db(site["app"]).partner_users
    before = users.count_documents({})

    again = browser(site["app"], None)
    assert again.get(f"{BASE}{path}").status_code == 410
    reused = again.post(f"{BASE}{path}", data={**_accept(), "csrf_token": _token(again)})
    assert reused.status_code == 410
    assert "has been used" in _html(reused)
    assert users.count_documents({}) == before


def test_an_address_taken_meanwhile_makes_nobody_and_leaves_the_link_unused(site, mail):
    _invite(browser(site["app"], ADMIN))
    path = _link(mail.wait_for(1)[0]).removeprefix(BASE)
    # Leeds made an account for the same address before Jo followed Glasgow's link.
    leeds = site["leeds"]["partner"]["_id"]
    site["app"].extensions["partner_users"].create_user(
        leeds, "jo.new@glasgow.example", "Jo New", "referrer", PASSWORD
    )
    db = _db(site["app"])
    before = db.partner_users.count_documents({})
    invitee = browser(site["app"], None)
    refused = invitee.post(f"{BASE}{path}", data={**_accept(), "csrf_token": _token(invitee)})
    assert refused.status_code == 409
    assert "already have an account" in _html(refused)
    assert db.partner_users.count_documents({}) == before
    # The claim and the user are one transaction: the failed user left the link unused.
    assert db.partner_invitations.find_one()["used_at"] is None


def _token(client) -> str:
    return token(_html(client.get(f"{BASE}/sign-in")))


def test_an_expired_link_is_refused_and_makes_nobody(site, mail):
    _invite(browser(site["app"], ADMIN))
    path = _link(mail.wait_for(1)[0]).removeprefix(BASE)
    db = _db(site["app"])
    db.partner_invitations.update_one({}, {"$set": {"expires_at": now() - timedelta(minutes=1)}})
    before = db.partner_users.count_documents({})
    invitee = browser(site["app"], None)
    assert invitee.get(f"{BASE}{path}").status_code == 410
    refused = invitee.post(f"{BASE}{path}", data={**_accept(), "csrf_token": _token(invitee)})
    assert refused.status_code == 410
    assert "has expired" in _html(refused)
    assert db.partner_users.count_documents({}) == before
    assert db.partner_invitations.find_one()["used_at"] is None


def test_an_unknown_link_is_not_found(site):
    client = browser(site["app"], None)
    assert client.get(f"{BASE}/invitations/no-such-token").status_code == 404
    refused = client.post(
        f"{BASE}/invitations/no-such-token",
        data={**_accept(), "csrf_token": _token(client)},
    )
    assert refused.status_code == 404
    assert _db(site["app"]).partner_users.count_documents({}) == 3


def test_a_newer_invitation_replaces_the_older_link(site, mail):
    admin = browser(site["app"], ADMIN)
    _invite(admin)
    _invite(admin)
    first, second = (_link(email).removeprefix(BASE) for email in mail.wait_for(2))
    client = browser(site["app"], None)
    assert client.get(f"{BASE}{first}").status_code == 404
    assert client.get(f"{BASE}{second}").status_code == 200


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({"email": ""}, "email", ENTER_EMAIL),
        ({"email": "not an address"}, "email", BAD_EMAIL),
        ({"email": REFERRER.upper()}, "email", EMAIL_TAKEN),
        ({"name": "   "}, "name", ENTER_NAME),
        ({"name": "J" * 101}, "name", LONG_NAME),
        ({"name": "Jo\x01New"}, "name", NAME_CHARACTERS),  # events would refuse it later
        ({"role": "owner"}, "role", CHOOSE_ROLE),
    ],
)
def test_a_bad_invitation_is_refused_naming_the_field_and_nothing_is_stored_or_sent(
    site, mail, answers, field, message
):
    admin = browser(site["app"], ADMIN)
    form = {"email": "jo.new@glasgow.example", "name": "Jo New", "role": "referrer", **answers}
    refused = post_form(admin, "/users/invite", form)
    assert refused.status_code == 400
    assert error_summary(_html(refused)) == [message]
    assert f'id="{field}-error"' in _html(refused)
    assert _db(site["app"]).partner_invitations.count_documents({}) == 0
    assert mail.emails() == []


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({"password": "", "confirmation": ""}, "password", ENTER_PASSWORD),
        ({"password": "short", "confirmation": "short"}, "password", SHORT_PASSWORD),
        ({"confirmation": "another long password"}, "confirmation", PASSWORDS_DIFFER),
        ({"name": ""}, "name", ENTER_OWN_NAME),
        ({"name": "Jo\x9bNew"}, "name", NAME_CHARACTERS),
    ],
)
def test_a_bad_acceptance_is_refused_naming_the_field_and_makes_nobody(
    site, mail, answers, field, message
):
    _invite(browser(site["app"], ADMIN))
    path = _link(mail.wait_for(1)[0]).removeprefix(BASE)
    invitee = browser(site["app"], None)
    form = {"name": "Jo New", "password": NEW_PASSWORD, "confirmation": NEW_PASSWORD, **answers}
    refused = post_form(invitee, path, form)
    assert refused.status_code == 400
    assert error_summary(_html(refused)) == [message]
    assert f'id="{field}-error"' in _html(refused)
    db = _db(site["app"])
    assert db.partner_users.count_documents({"username": "jo.new@glasgow.example"}) == 0
    assert db.partner_invitations.find_one()["used_at"] is None  # the link still works
    assert post_form(invitee, path, _accept()).status_code == 200


def test_a_removed_user_is_signed_out_at_once(site):
    referrer = browser(site["app"], REFERRER)
    assert _signed_in(referrer)
    admin = browser(site["app"], ADMIN)
    referrer_id = site["glasgow"]["users"][1]["_id"]
    confirm = admin.get(f"{BASE}/users/{referrer_id}/remove")
    assert confirm.status_code == 200 and "Alex Lifecoach" in _html(confirm)
    removed = post_form(admin, f"/users/{referrer_id}/remove", {})
    assert removed.status_code == 302
    users_page = _html(admin.get(f"{BASE}/users"))
    assert "The user is removed, and signed out." in users_page
    assert "Alex Lifecoach" not in users_page

    answer = referrer.get(f"{BASE}/referrals")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/sign-in")
    db = _db(site["app"])
    assert db.partner_sessions.count_documents({"account_id": referrer_id}) == 0
    refused = _password(browser(site["app"], None), REFERRER)
    assert refused.status_code == 401
    # The address is free again: the organisation can invite them back.
    assert _invite(admin, email=REFERRER).status_code == 200


def test_an_admin_cannot_remove_themselves_or_another_organisations_user(site):
    admin = browser(site["app"], ADMIN)
    admin_id = site["glasgow"]["users"][0]["_id"]
    leeds_id = site["leeds"]["users"][0]["_id"]
    refused = post_form(admin, f"/users/{admin_id}/remove", {}, "/users")
    assert refused.status_code == 403
    assert post_form(admin, f"/users/{leeds_id}/remove", {}, "/users").status_code == 404
    users = _db(site["app"]).partner_users
    assert users.count_documents({"revoked_at": None}) == 3


def test_an_admin_requires_a_second_factor_and_a_bad_answer_changes_nothing(site):
    admin = browser(site["app"], ADMIN)
    partners = _db(site["app"]).partners
    glasgow_id = site["glasgow"]["partner"]["_id"]
    refused = post_form(admin, "/users/second-factor", {"required": "maybe"})
    assert refused.status_code == 400
    assert error_summary(_html(refused)) == [CHOOSE_REQUIRED]
    assert not partners.find_one({"_id": glasgow_id}).get("second_factor_required")

    assert post_form(admin, "/users/second-factor", {"required": "yes"}).status_code == 302
    assert partners.find_one({"_id": glasgow_id})["second_factor_required"] is True
    # The admin has no app either: they give their password again, then set one up.
    answer = admin.get(f"{BASE}/users")
    assert answer.headers["Location"].endswith("/sign-in")


# ---- the command line ----------------------------------------------------------------


def test_the_command_line_invites_a_first_admin_with_a_link_that_works(
    familyties, settings, monkeypatch
):
    monkeypatch.setenv("REFERRAL_PUBLIC_URL", BASE)
    created = familyties("partners", "create", "Routes out of Prison Ayrshire")
    partner_id = re.search(r"with id (\S+)\.", created.output).group(1)
    result = familyties("partners", "invite", partner_id, "Morag@Ayrshire.example", "Morag Admin")
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith(f"{BASE}/invitations/")

    app = _app(settings)
    invitee = browser(app, None)
    path = link.removeprefix(BASE)
    assert post_form(invitee, path, _accept(name="Morag Admin")).status_code == 200
    client = browser(app, None)
    assert _password(client, "morag@ayrshire.example", NEW_PASSWORD).status_code == 302
    assert client.get(f"{BASE}/users").status_code == 200  # an administrator

    taken = familyties("partners", "invite", partner_id, "morag@ayrshire.example", "Morag")
    assert taken.exit_code != 0 and EMAIL_TAKEN in taken.output
    unknown = familyties("partners", "invite", "no-such-partner", "a@ayrshire.example", "A")
    assert unknown.exit_code != 0


def test_the_command_line_requires_a_second_factor_and_turns_it_off(familyties, settings):
    created = familyties("partners", "create", "Routes out of Prison Ayrshire")
    partner_id = re.search(r"with id (\S+)\.", created.output).group(1)
    assert familyties("partners", "require-second-factor", partner_id).exit_code == 0
    partners = create_app(settings).extensions["partners"]
    assert partners.current(partner_id)["second_factor_required"] is True
    assert familyties("partners", "require-second-factor", partner_id, "--off").exit_code == 0
    assert partners.current(partner_id)["second_factor_required"] is False
    assert familyties("partners", "require-second-factor", "no-such-partner").exit_code != 0
