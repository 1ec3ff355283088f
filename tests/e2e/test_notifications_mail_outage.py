"""Email that cannot go out waits: the local mail server stopped for 20 seconds (several
failed attempts, with first retries 0.5 s apart and doubling), the referrer's emails go
out once it is back, once each. A stack of its own, with the
default retry period (days), and quick first retries."""

from __future__ import annotations

import time

import pytest

from tests.background import wait_for
from tests.e2e.stack import Stack
from tests.e2e.test_notifications_end_to_end import REFERRER, Partner
from tests.mail_catcher import recipients, subject

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("var"), tmp_path_factory.mktemp("logs") / "stack.log")
    stack.env |= {"NOTIFICATION_FIRST_RETRY_SECONDS": "0.5"}
    stack.start()
    yield stack
    if stack.process and stack.process.poll() is None:
        stack.stop()


def test_emails_wait_while_the_mail_server_is_stopped_and_go_once_it_is_back(stack):
    partner = Partner(stack, "Health visitors")
    stack.control("stop", "servers:mail")
    referral_id = partner.refer(400)
    time.sleep(20)
    stack.control("start", "servers:mail")
    assert wait_for(stack.mail.ready, timeout=30)

    def to_the_referrer() -> list[str]:
        found = [subject(e) for e in stack.mail.emails() if REFERRER in recipients(e)]
        return sorted(s for s in found if referral_id in s)

    want = [f"Referral {referral_id} accepted", f"Referral {referral_id} received"]
    assert wait_for(lambda: to_the_referrer() == want, timeout=150), to_the_referrer()
    time.sleep(5)
    assert to_the_referrer() == want
