"""Notifications' pages against the real database and mail server: staff sign in with a
link emailed to the work address casework announced (it works once, only by its button,
and says nothing about who works here), choose how to get optional messages, preview
every template, and managers see failures. Bad input is refused naming the field, with
nothing stored and nothing sent."""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import timedelta

import pytest

from backbone import mongo
from backbone.api_keys import hash_key
from backbone.clock import now
from services.notifications.app import create_app
from services.notifications.kinds import KINDS
from services.notifications.repository import FAILED, Store
from services.notifications.staff_sign_in import LINKS_PER_PERSON
from tests.integration.conftest import error_summary
from tests.mail_catcher import recipients

BASE = "https://notifications.example"
MANAGER = {"staff_id": "s-m", "name": "Morgan Manager", "email": "morgan@example.org"}
COORDINATOR = {"staff_id": "s-c", "name": "Casey Coordinator", "email": "casey@example.org"}
LINK = re.compile(r"/sign-in/([A-Za-z0-9_-]{20,})")


@pytest.fixture
def store(settings):
    return Store(mongo.database(settings, "notifications"))


@pytest.fixture
def app(settings, mail, store):
    app = create_app(dataclasses.replace(settings, smtp_port=mail.smtp_port))
    keep(store, MANAGER, ["manager"])
    keep(store, COORDINATOR, ["coordinator"])
    return app


def keep(store: Store, person: dict, roles: list[str], active: bool = True) -> None:
    """The staff member as casework announced them (StaffChanged)."""
    store.keep_staff({**person, "roles": roles, "active": active, "at": now()}, None)


def browser(app):
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR="127.0.0.1", HTTP_REFERER=f"{BASE}/")
    return client


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def ask_for_link(client, email: str):
    token = csrf(client.get(f"{BASE}/sign-in").get_data(as_text=True))
    return client.post(f"{BASE}/sign-in", data={"email": email, "csrf_token": token})


def signed_in(app, mail, person: dict):
    client = browser(app)
    assert ask_for_link(client, person["email"]).status_code == 200
    (email,) = mail.wait_for(1)
    link = LINK.search(email["text"]).group(1)
    page = client.get(f"{BASE}/sign-in/{link}").get_data(as_text=True)
    assert client.post(f"{BASE}/sign-in/{link}", data={"csrf_token": csrf(page)}).status_code == 302
    mail.clear()
    return client


def test_the_emailed_link_signs_in_once_and_only_by_its_button(app, mail, store):
    client = browser(app)
    asked = ask_for_link(client, "  Morgan@Example.org ")  # as people type it
    assert asked.status_code == 200 and "Check your email" in asked.get_data(as_text=True)
    (email,) = mail.wait_for(1)
    assert recipients(email) == ["morgan@example.org"]
    assert email["subject"] == "Sign in to Family Ties notifications"
    link = LINK.search(email["text"]).group(1)
    assert link in email["html"]
    # The database holds only the link's hash.
    assert store.db["sign_in_links"].count_documents({"_id": hash_key(link)}) == 1
    assert store.db["sign_in_links"].count_documents({"_id": link}) == 0

    # Fetching the link (as a mail scanner would) shows the button and uses nothing up.
    for _ in range(2):
        page = client.get(f"{BASE}/sign-in/{link}")
        assert page.status_code == 200 and "Sign in to Family Ties notifications" in page.text
    assert client.get(f"{BASE}/messages").status_code == 302  # not signed in yet

    used = client.post(f"{BASE}/sign-in/{link}", data={"csrf_token": csrf(page.text)})
    assert used.status_code == 302 and used.headers["Location"] == "/"
    assert client.get(f"{BASE}/").headers["Location"] == "/messages"
    assert "Messages and failures" in client.get(f"{BASE}/messages").text

    # Used once: neither the page nor another browser can use it again.
    again = browser(app)
    page = again.get(f"{BASE}/sign-in/{link}")
    assert page.status_code == 410 and "This link does not work" in page.text
    token = csrf(again.get(f"{BASE}/sign-in").text)
    assert again.post(f"{BASE}/sign-in/{link}", data={"csrf_token": token}).status_code == 410
    assert again.get(f"{BASE}/messages").status_code == 302

    # Signing out ends the session.
    client.post(f"{BASE}/sign-out", data={"csrf_token": csrf(client.get(f"{BASE}/messages").text)})
    assert client.get(f"{BASE}/messages").status_code == 302


@pytest.mark.parametrize(
    "email",
    ["nobody@example.org", "revoked@example.org", "no-address-kept@example.org"],
    ids=["unknown", "revoked", "not-the-address-kept"],
)
def test_an_address_of_nobody_current_gets_the_same_page_and_no_email(app, mail, store, email):
    keep(
        store,
        {"staff_id": "s-r", "name": "Rowan Revoked", "email": "revoked@example.org"},
        ["manager"],
        active=False,
    )
    keep(store, {"staff_id": "s-n", "name": "Nico Noaddress", "email": None}, ["manager"])
    client = browser(app)
    known = ask_for_link(client, MANAGER["email"]).text.replace(MANAGER["email"], "ADDRESS")
    mail.wait_for(1)
    mail.clear()
    unknown = ask_for_link(client, email)
    assert unknown.status_code == 200
    assert unknown.text.replace(email, "ADDRESS") == known
    # Links go out from a thread: one asked for after shows when the mail has had its time.
    ask_for_link(client, COORDINATOR["email"])
    assert [recipients(e) for e in mail.wait_for(1)] == [[COORDINATOR["email"]]]
    others = {"staff_id": {"$nin": [MANAGER["staff_id"], COORDINATOR["staff_id"]]}}
    assert store.db["sign_in_links"].count_documents(others) == 0


@pytest.mark.parametrize("typed", ["", "morgan", "morgan@", "<script>@example.org"])
def test_a_bad_address_is_refused_naming_the_field_and_nothing_is_sent(app, mail, store, typed):
    answer = ask_for_link(browser(app), typed)
    assert answer.status_code == 400
    assert error_summary(answer.text) == ["Enter your work email address, like name@example.org"]
    assert 'id="email"' in answer.text
    assert store.db["sign_in_links"].count_documents({}) == 0
    assert mail.emails() == []


def test_nobody_gets_more_than_a_few_links_at_a_time(app, mail, store):
    client = browser(app)
    for _ in range(LINKS_PER_PERSON + 2):
        assert ask_for_link(client, COORDINATOR["email"]).status_code == 200
    assert len(mail.wait_for(LINKS_PER_PERSON)) == LINKS_PER_PERSON
    assert store.db["sign_in_links"].count_documents({}) == LINKS_PER_PERSON
    # Once they expire, another may be sent.
    store.db["sign_in_links"].update_many(
        {}, {"$set": {"expires_at": now() - timedelta(seconds=1)}}
    )
    ask_for_link(client, COORDINATOR["email"])
    assert len(mail.wait_for(LINKS_PER_PERSON + 1)) == LINKS_PER_PERSON + 1


def test_a_link_past_its_time_does_not_sign_in(app, mail, store):
    client = browser(app)
    ask_for_link(client, COORDINATOR["email"])
    link = LINK.search(mail.wait_for(1)[0]["text"]).group(1)
    store.db["sign_in_links"].update_many(
        {}, {"$set": {"expires_at": now() - timedelta(seconds=1)}}
    )
    token = csrf(client.get(f"{BASE}/sign-in").text)
    assert client.post(f"{BASE}/sign-in/{link}", data={"csrf_token": token}).status_code == 410
    assert client.get(f"{BASE}/preferences").status_code == 302


def test_a_revoked_staff_member_is_signed_out(app, mail, store):
    client = signed_in(app, mail, COORDINATOR)
    assert client.get(f"{BASE}/preferences").status_code == 200
    keep(store, COORDINATOR, ["coordinator"], active=False)
    assert client.get(f"{BASE}/preferences").status_code == 302


def test_a_manager_chooses_digests_and_silence_and_a_later_staffchanged_keeps_them(
    app, mail, store
):
    client = signed_in(app, mail, MANAGER)
    page = client.get(f"{BASE}/preferences").text
    assert 'name="new_referral" type="radio" value="each" checked' in page
    form = {"new_referral": "digest", "waiting_summary": "none", "csrf_token": csrf(page)}
    saved = client.post(f"{BASE}/preferences", data=form)
    assert saved.status_code == 200 and "Your choices are saved" in saved.text
    chosen = {"new_referral": "digest", "waiting_summary": "none"}
    assert store.staff_member("s-m")["preferences"] == chosen
    keep(store, {**MANAGER, "email": "morgan.m@example.org"}, ["manager"])
    assert store.staff_member("s-m")["preferences"] == chosen


@pytest.mark.parametrize(
    "form, field",
    [
        ({"new_referral": "sometimes", "waiting_summary": "none"}, "new_referral"),
        ({"new_referral": "each"}, "waiting_summary"),
    ],
)
def test_a_choice_that_is_not_one_is_refused_naming_it_and_nothing_is_kept(
    app, mail, store, form, field
):
    client = signed_in(app, mail, MANAGER)
    token = csrf(client.get(f"{BASE}/preferences").text)
    refused = client.post(f"{BASE}/preferences", data={**form, "csrf_token": token})
    assert refused.status_code == 400
    assert error_summary(refused.text) == [f"Choose how to get “{KINDS[field].summary}”"]
    assert "preferences" not in store.staff_member("s-m")


def test_allocations_cannot_be_turned_off(app, mail, store):
    client = signed_in(app, mail, COORDINATOR)
    page = client.get(f"{BASE}/preferences").text
    assert KINDS["case_allocated"].summary in page and 'type="radio"' not in page
    token = csrf(page)
    client.post(f"{BASE}/preferences", data={"case_allocated": "none", "csrf_token": token})
    assert "case_allocated" not in store.staff_member("s-c").get("preferences", {})


def test_only_managers_see_messages_and_failures(app, mail, store):
    store.add_messages([failed_message()])
    coordinator = signed_in(app, mail, COORDINATOR)
    assert coordinator.get(f"{BASE}/messages").status_code == 403
    manager = signed_in(app, mail, MANAGER)
    page = manager.get(f"{BASE}/messages").text
    failed = page.split("Being tried again")[0]
    assert "gave up after 3 days: HTTP 503" in failed and "referral-1" in failed


@pytest.mark.parametrize("name", list(KINDS))
def test_every_template_can_be_previewed(app, mail, name):
    client = signed_in(app, mail, COORDINATOR)
    page = client.get(f"{BASE}/templates/{name}")
    assert page.status_code == 200 and KINDS[name].summary in html.unescape(page.text)
    email = client.get(f"{BASE}/templates/{name}/email.html")
    assert email.status_code == 200 and "<html" in email.text
    policy = email.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "script-src" not in policy and "default-src 'none'" in policy
    assert client.get(f"{BASE}/templates/no_such_kind").status_code == 404


def failed_message() -> dict:
    at = now()
    return {
        "_id": "m-failed",
        "lane": "endpoint:e-1|webhook|referral-1",
        "seq": "ev-1",
        "kind": "referral_received",
        "channel": "webhook",
        "recipient": "endpoint:e-1",
        "address": "e-1",
        "referral_id": "referral-1",
        "status": FAILED,
        "reason": "gave up after 3 days: HTTP 503",
        "created_at": at,
        "attempts": [{"started_at": at, "finished_at": at, "status_code": 503}],
    }
