"""Driving the stack as partners, coordinators and report viewers do, for reporting's
end-to-end tests: referrals through intake's API, case work through casework's API, and
reports through reporting's API and its downloads."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import requests

from backbone.clock import now
from tests.background import wait_for
from tests.e2e.stack import Stack
from tests.factories import referral

PASSWORD = "a long password"
TEAM_AREAS = {
    "GLASGOW": "GLASGOW_CITY",
    "LANARKSHIRE": "NORTH_LANARKSHIRE",
    "NORTH_STRATHCLYDE": "INVERCLYDE",
    "SOUTH_WEST_SCOTLAND": "EAST_AYRSHIRE",
    "OTHER": "FIFE",
}


class Reporting:
    """Everyone the reporting tests need, on one stack."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.partner = {"Authorization": f"Bearer {stack.new_partner_key('Routes out of Prison')}"}
        _, self.manager = stack.new_staff("morgan", "manager")
        self.coordinator_id, self.coordinator = stack.new_staff("casey", "coordinator")
        self.viewer = self.new_viewer("robin", "manager")

    def new_viewer(self, username: str, role: str) -> dict[str, str]:
        account = ["--name", username.title(), "--role", role, "--password", PASSWORD, "--api-key"]
        output = self.stack.familyties("reporting", "viewers", "create", username, *account)
        return {"Authorization": f"Bearer {output.strip().splitlines()[-1]}"}

    # ---- intake and casework -------------------------------------------------------------

    def refer(self, n: int, team: str, referred_on: date, **changes: Any) -> str:
        body = referral(
            n,
            referrer__team=team,
            referred_on=referred_on.isoformat(),
            family_member__local_authority=TEAM_AREAS[team],
            **changes,
        )
        posted = requests.post(
            f"{self.stack.url('referral')}/v1/referrals",
            json=body,
            headers=self.partner,
            timeout=10,
        )
        assert posted.status_code == 201, posted.text
        return posted.json()["id"]

    def case_of(self, referral_id: str) -> str:
        """The id of the referral's case, once casework has opened it."""
        found: list = []

        def opened() -> bool:
            cases = requests.get(
                f"{self.stack.url('casework')}/v1/cases", headers=self.manager, timeout=10
            ).json()
            found[:] = [c["id"] for c in cases if c["referral_id"] == referral_id]
            return bool(found)

        assert wait_for(opened, timeout=60), f"no case; see {self.stack.log_path}"
        return found[0]

    def work(self, case_id: str, action: str, body: dict | None = None, who: str = "coordinator"):
        headers = self.manager if who == "manager" else self.coordinator
        done = requests.post(
            f"{self.stack.url('casework')}/v1/cases/{case_id}/{action}",
            json=body or {},
            headers=headers,
            timeout=10,
        )
        assert done.status_code == 200, done.text
        return done.json()

    def allocate(self, case_id: str) -> None:
        self.work(case_id, "allocation", {"coordinator_id": self.coordinator_id}, "manager")

    def contact(self, case_id: str, needs: list[str]) -> None:
        self.work(
            case_id,
            "contacts",
            {
                "method": "telephone",
                "happened_at": now().isoformat(),
                "duration_minutes": 20,
                "notes": "Synthetic notes that reporting must never hold.",
                "needs_addressed": needs,
            },
        )

    # ---- reports ---------------------------------------------------------------------

    def report(self, name: str, **query: str) -> dict[str, Any]:
        answer = requests.get(
            f"{self.stack.url('reporting')}/v1/reports/{name}",
            params=query,
            headers=self.viewer,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def signed_in(self, username: str = "robin") -> requests.Session:
        """A browser-like session signed in to the reporting pages. The session cookie is
        marked Secure, which requests keeps from plain http://127.0.0.1 (browsers send it)."""
        session = _OverHttp()
        base = self.stack.url("reporting")
        form = session.get(f"{base}/sign-in", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        answer = session.post(
            f"{base}/sign-in",
            data={"csrf_token": token, "username": username, "password": PASSWORD},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, answer.text
        return session


class _OverHttp(requests.Session):
    """A session that sends its Secure cookies to http://127.0.0.1, as browsers do."""

    def request(self, *args, **kwargs) -> requests.Response:
        answer = super().request(*args, **kwargs)
        for cookie in self.cookies:  # each answer may set the cookie again
            cookie.secure = False
        return answer
