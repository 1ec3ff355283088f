"""A partner withdraws a referral whose case a coordinator has: over HTTP and Kafka, on the
stack as `make run` starts it, casework closes the case as withdrawn with the reason,
intake keeps showing "withdrawn", and reporting counts it."""

from __future__ import annotations

import pytest
import requests

from backbone.clock import today
from tests.background import wait_for
from tests.e2e.reporting_client import Reporting
from tests.e2e.test_following_a_referral import log_lines

pytestmark = pytest.mark.e2e


def test_a_withdrawn_referral_closes_its_case_and_is_counted(stack):
    people = Reporting(stack)
    intake, casework = stack.url("referral"), stack.url("casework")
    referral_id = people.refer(1, "GLASGOW", today())
    referral_url = f"{intake}/v1/referrals/{referral_id}"
    case_id = people.case_of(referral_id)
    people.allocate(case_id)

    def referral() -> dict:
        return requests.get(referral_url, headers=people.partner, timeout=5).json()

    assert wait_for(lambda: referral()["status"] == "allocated", timeout=60)

    withdrawn = requests.post(
        f"{referral_url}/withdrawal",
        json={"reason": "other", "details": "The family moved to Orkney."},
        headers=people.partner,
        timeout=10,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"

    def the_case() -> dict:
        return requests.get(
            f"{casework}/v1/cases/{case_id}", headers=people.coordinator, timeout=5
        ).json()

    assert wait_for(lambda: the_case()["status"] == "closed", timeout=60), stack.log_path
    case = the_case()
    assert case["outcomes"] == ["withdrawn"]
    assert case["withdrawal"]["reason"] == "other"
    noted = next(entry for entry in case["timeline"] if entry["kind"] == "ReferralWithdrawn")
    assert noted["summary"] == (
        "Withdrawn by Routes out of Prison: Another reason. The family moved to Orkney."
    )

    # Intake hears of the case closed for the withdrawal, and stays withdrawn.
    def intake_followed_the_closing() -> bool:
        return any(
            line.get("service") == "referral"
            and line.get("type") == "CaseClosed"
            and line.get("subject") == case_id
            for line in log_lines(stack, "event processed")
        )

    assert wait_for(intake_followed_the_closing, timeout=60), stack.log_path
    seen = referral()
    assert seen["status"] == "withdrawn"
    assert [h["status"] for h in seen["status_history"]] == [
        "received",
        "accepted",
        "allocated",
        "withdrawn",
    ]

    month = today().strftime("%Y-%m")
    this_month = {"from": month, "to": month}

    def counted() -> bool:  # intake's withdrawal and casework's closing, in either order
        headline = people.report("headline", **this_month)
        return headline["withdrawn"] == 1 and headline["closing_outcomes"]["withdrawn"] == 1

    assert wait_for(counted, timeout=60), stack.log_path
    assert people.report("withdrawals-by-month", **this_month)["total"] == 1
    headline = people.report("headline", **this_month)
    assert headline["withdrawal_reasons"]["other"] == 1
    assert headline["open_now"] == 0
