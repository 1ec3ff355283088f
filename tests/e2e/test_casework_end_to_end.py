"""From a partner's POST to an open case in casework, to the partner seeing "allocated"
and later "closed", all over HTTP and Kafka, on the stack as `make run` starts it."""

from __future__ import annotations

import pytest
import requests

from tests.background import wait_for
from tests.factories import referral

pytestmark = pytest.mark.e2e


def test_a_referral_becomes_a_case_and_the_partner_sees_what_became_of_it(stack):
    partner = {"Authorization": f"Bearer {stack.new_partner_key('Routes out of Prison')}"}
    _, manager = stack.new_staff("morgan", "manager")
    casey_id, casey = stack.new_staff("casey", "coordinator")
    intake, casework = stack.url("referral"), stack.url("casework")

    posted = requests.post(f"{intake}/v1/referrals", json=referral(7), headers=partner, timeout=10)
    assert posted.status_code == 201
    referral_url = f"{intake}{posted.headers['Location']}"

    def referral_status() -> str:
        return requests.get(referral_url, headers=partner, timeout=5).json()["status"]

    def the_case() -> list:
        return requests.get(f"{casework}/v1/cases", headers=manager, timeout=5).json()

    assert wait_for(lambda: the_case() != [], timeout=60), f"no case; see {stack.log_path}"
    [case] = the_case()
    assert case["referral_id"] == posted.json()["id"]
    assert wait_for(lambda: referral_status() == "accepted", timeout=60)

    allocated = requests.post(
        f"{casework}/v1/cases/{case['id']}/allocation",
        json={"coordinator_id": casey_id},
        headers=manager,
        timeout=10,
    )
    assert allocated.status_code == 200
    assert wait_for(lambda: referral_status() == "allocated", timeout=60)

    closed = requests.post(
        f"{casework}/v1/cases/{case['id']}/close",
        json={
            "outcomes": ["needs_met"],
            "outcome_for_referrer": "The family had six months of support and is doing well.",
        },
        headers=casey,
        timeout=10,
    )
    assert closed.status_code == 200
    assert wait_for(lambda: referral_status() == "closed", timeout=60)

    seen = requests.get(referral_url, headers=partner, timeout=5).json()
    assert [h["status"] for h in seen["status_history"]] == [
        "received",
        "accepted",
        "allocated",
        "closed",
    ]
    assert seen["status_history"][-1]["outcome"] == (
        "The family had six months of support and is doing well."
    )
    # the partner never sees the case itself
    assert (
        requests.get(f"{casework}/v1/cases/{case['id']}", headers=partner, timeout=5).status_code
        == 401
    )
