"""Synthetic referral histories for reporting's benchmarks.

Referrals spread over ten years up to the end of last month, from all five referring
teams, each mostly from its own local authorities and now and then from any of them; and
for a share of them the case events casework publishes as it works a case: opened,
allocated (sometimes reallocated), contacts, needs assessed, signposts to directory
services and their outcomes, one-to-one support, declined or closed. What has not
happened by today has not happened yet, so recent cases are still open or waiting, as in
production. The same history can be had as decoded events (what reporting's handlers
are given: for loading the view in bulk) or as valid CloudEvents envelopes with their
topic and key (for the broker).
"""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from backbone.clock import now, today
from backbone.events import vocabulary as v
from backbone.events.case import CLOSING_OUTCOMES
from backbone.events.catalogue import CATALOGUE
from backbone.events.envelope import Event, new_event
from services.directory.seed import seed_services
from services.directory.taxonomy import need_term_id
from tests.factories import referral_received_data
from tests.unit import reporting_events

YEARS = 10
COORDINATORS = [f"coordinator-{n}" for n in range(40)]
TEAM_SHARES = {
    "GLASGOW": 0.35,
    "LANARKSHIRE": 0.2,
    "NORTH_STRATHCLYDE": 0.15,
    "SOUTH_WEST_SCOTLAND": 0.15,
    "OTHER": 0.15,
}
# Where each team's referrals mostly come from; the rest (and OTHER's) from anywhere.
TEAM_AREAS = {
    "GLASGOW": ["GLASGOW_CITY"] * 6
    + ["EAST_DUNBARTONSHIRE", "EAST_RENFREWSHIRE", "RENFREWSHIRE", "WEST_DUNBARTONSHIRE"],
    "LANARKSHIRE": ["NORTH_LANARKSHIRE"] * 3 + ["SOUTH_LANARKSHIRE"] * 3 + ["FALKIRK"],
    "NORTH_STRATHCLYDE": ["INVERCLYDE"] * 2
    + ["RENFREWSHIRE", "WEST_DUNBARTONSHIRE", "ARGYLL_AND_BUTE", "EAST_DUNBARTONSHIRE"],
    "SOUTH_WEST_SCOTLAND": ["EAST_AYRSHIRE"] * 2
    + ["NORTH_AYRSHIRE", "SOUTH_AYRSHIRE", "DUMFRIES_AND_GALLOWAY"],
    "OTHER": list(v.LOCAL_AUTHORITIES),
}
ELSEWHERE_SHARE = 0.1
CONTACT_METHODS = ["telephone", "telephone", "telephone", "home_visit", "meeting", "text"]


@dataclass
class Step:
    """One case event: its type, the day it happened, and its own fields (decoded)."""

    kind: str
    on: date
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class History:
    referral_id: str
    team: str
    local_authority: str
    referred_on: date
    children: int
    needs: list[str]
    steps: list[Step]  # case events, in order; none for a referral without a case

    @property
    def case_id(self) -> str:
        return f"case-{self.referral_id}"


class Histories:
    """Histories made from a seed: the same ones every run."""

    def __init__(self, seed: int = 1, case_share: float = 0.5, on: date | None = None) -> None:
        self.rng = random.Random(seed)
        self.case_share = case_share
        self.today = on or today()
        self.last = self.today.replace(day=1) - timedelta(days=1)  # the end of last month
        self.first = self.last.replace(year=self.last.year - YEARS) + timedelta(days=1)
        self.days = (self.last - self.first).days + 1
        self.services = [s["id"] for s in seed_services()]
        self.teams, self.team_weights = list(TEAM_SHARES), list(TEAM_SHARES.values())
        self.areas = list(v.LOCAL_AUTHORITIES)
        self.needs = list(v.NEEDS)

    def in_order(self, count: int) -> Iterator[History]:
        """`count` histories, their referral dates spread evenly over the years and in
        order, as referrals come (each one's case events follow it at once)."""
        for number in range(count):
            yield self.one(self.first + timedelta(days=number * self.days // count))

    def one(self, referred_on: date | None = None, with_case: bool | None = None) -> History:
        rng = self.rng
        team = rng.choices(self.teams, self.team_weights)[0]
        area = rng.choice(self.areas if rng.random() < ELSEWHERE_SHARE else TEAM_AREAS[team])
        on = referred_on or self.first + timedelta(days=rng.randrange(self.days))
        needs = rng.sample(self.needs, rng.choice((1, 1, 2, 2, 2, 3, 3, 4)))
        history = History(
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            team,
            area,
            on,
            rng.choice((0, 0, 1, 1, 1, 2, 2, 3, 4)),
            needs,
            [],
        )
        if with_case if with_case is not None else rng.random() < self.case_share:
            history.steps = self._case(history)
        return history

    def _case(self, history: History) -> list[Step]:
        rng, needs = self.rng, history.needs
        opened = history.referred_on + timedelta(days=rng.choice((0, 0, 1, 1, 2, 3)))
        steps = [
            Step(
                "CaseOpened",
                opened,
                {
                    "partner_id": "partner-1",
                    "referring_team": history.team,
                    "local_authority": history.local_authority,
                    "needs": sorted(needs),
                },
            )
        ]
        if rng.random() < 0.05:
            declined = opened + timedelta(days=rng.randrange(1, 10))
            steps.append(Step("CaseDeclined", declined, {"reason_for_referrer": "Out of area."}))
            return self._so_far(steps)
        last = opened
        if rng.random() < 0.92:
            allocated = opened + timedelta(days=rng.randrange(0, 6))
            coordinator = rng.choice(COORDINATORS)
            steps.append(self._allocation(allocated, coordinator, False))
            last = allocated
            if rng.random() < 0.05:
                again = allocated + timedelta(days=rng.randrange(10, 60))
                steps.append(self._allocation(again, rng.choice(COORDINATORS), True))
            if rng.random() < 0.85:
                last = max(last, self._work(steps, allocated, needs))
        if rng.random() < 0.9:
            closed = last + timedelta(days=rng.randrange(14, 90))
            outcomes = sorted(rng.sample(list(CLOSING_OUTCOMES), rng.choice((1, 1, 2))))
            steps.append(
                Step("CaseClosed", closed, {"outcomes": outcomes, "outcome_for_referrer": "Done."})
            )
        return self._so_far(steps)

    def _allocation(self, on: date, coordinator: str, reassigned: bool) -> Step:
        return Step("CaseAllocated", on, {"coordinator_id": coordinator, "reassigned": reassigned})

    def _work(self, steps: list[Step], allocated: date, needs: list[str]) -> date:
        """Contacts, needs assessed, signposts and support: appended; the last day."""
        rng = self.rng
        day = allocated + timedelta(days=rng.choice((0, 1, 1, 2, 2, 3, 4, 5, 7, 9, 14)))
        for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
            addressed = [n for n in needs if rng.random() < 0.4]
            steps.append(
                Step(
                    "ContactRecorded",
                    day,
                    {
                        "contact_id": f"contact-{rng.getrandbits(48):x}",
                        "method": rng.choice(CONTACT_METHODS),
                        "happened_at": datetime.combine(day, time(9), tzinfo=UTC),
                        "duration_minutes": rng.choice((10, 20, 30, 45, 60)),
                        "needs_addressed": addressed,
                    },
                )
            )
            day += timedelta(days=rng.randrange(7, 30))
        last = day
        if rng.random() < 0.3:
            extra = rng.choice(self.needs)
            assessed = [{"need": extra, "status": "identified"}]
            assessed += [{"need": n, "status": "addressed"} for n in needs if rng.random() < 0.3]
            steps.append(Step("NeedsAssessed", allocated + timedelta(days=3), {"needs": assessed}))
        if rng.random() < 0.4:
            for _ in range(rng.choice((1, 1, 2))):
                made = allocated + timedelta(days=rng.randrange(1, 40))
                signpost = f"signpost-{rng.getrandbits(48):x}"
                steps.append(
                    Step(
                        "SignpostMade",
                        made,
                        {
                            "signpost_id": signpost,
                            "service_id": rng.choice(self.services),
                            "method": "telephone",
                            "personal_details_shared": False,
                            "needs": sorted(n for n in needs if rng.random() < 0.5),
                        },
                    )
                )
                if rng.random() < 0.7:
                    outcome = "engaged" if rng.random() < 0.6 else "not_engaged"
                    recorded = made + timedelta(days=rng.randrange(14, 60))
                    steps.append(
                        Step(
                            "SignpostOutcomeRecorded",
                            recorded,
                            {"signpost_id": signpost, "outcome": outcome},
                        )
                    )
                    last = max(last, recorded)
        if rng.random() < 0.25:
            started = allocated + timedelta(days=rng.randrange(1, 20))
            ended = started + timedelta(days=rng.randrange(20, 300))
            steps += [Step("SupportStarted", started), Step("SupportEnded", ended)]
            last = max(last, ended)
        return last

    def _so_far(self, steps: list[Step]) -> list[Step]:
        """The steps in the order they happened, up to yesterday: the rest has not."""
        steps.sort(key=lambda step: step.on)
        return [step for step in steps if step.on < self.today]


# ---- as decoded events: what reporting's handlers are given ---------------------------


def decoded(history: History) -> list[Event]:
    """The history's events as the consumer hands them to reporting's handlers."""
    events = [
        reporting_events.referral_received(
            history.referral_id,
            team=history.team,
            referred_on=history.referred_on,
            local_authority=history.local_authority,
            children=history.children,
            needs=tuple(history.needs),
        )
    ]
    for step in history.steps:
        events.append(
            reporting_events.case_event(step.kind, history.referral_id, step.on, **step.fields)
        )
    return events


# ---- as envelopes on their topics: what the services publish --------------------------


class Envelopes:
    """Valid envelopes (made with new_event, so checked against the catalogue) of
    histories and of the directory's services, with the topic and key each goes on."""

    def __init__(self) -> None:
        self.template = referral_received_data()

    def of(self, history: History) -> list[tuple[str, str, dict]]:
        data = copy.deepcopy(self.template)
        received = datetime.combine(history.referred_on, time(11), tzinfo=UTC)
        data |= {
            "referral_id": history.referral_id,
            "referred_on": history.referred_on.isoformat(),
            "needs": history.needs,
            "received_at": received.isoformat(),
        }
        data["referrer"]["team"] = history.team
        data["family_member"]["local_authority"] = history.local_authority
        data["children"] |= {
            "number": history.children,
            "ages": data["children"]["ages"][: history.children],
        }
        data["consent"]["recorded_on"] = history.referred_on.isoformat()
        found = [_placed("ReferralReceived", history.referral_id, data)]
        for step in history.steps:
            at = datetime.combine(step.on, time(10), tzinfo=UTC)
            fields = {
                name: value.isoformat() if isinstance(value, datetime) else value
                for name, value in step.fields.items()
            }
            case = {
                "case_id": history.case_id,
                "referral_id": history.referral_id,
                "at": at.isoformat(),
                "by": "staff-1",
                **fields,
            }
            found.append(_placed(step.kind, history.case_id, case))
        return found


def directory_services() -> list[tuple[str, str, dict]]:
    """A ServicePublished for every seed service, as the directory publishes them."""
    terms = {need_term_id(code): code for code in v.NEEDS}
    found = []
    for service in seed_services():
        for attribute in service["attributes"]:
            code = terms[attribute["taxonomy_term_id"]]
            attribute["taxonomy_term"] = {
                "id": attribute["taxonomy_term_id"],
                "code": code,
                "name": code,
                "description": code,
            }
        change = {
            "action": "create",
            "resource_type": "service",
            "resource_id": service["id"],
            "by": {"id": "seed", "name": "Seed"},
            "at": now().isoformat(),
            "fields_changed": [],
        }
        found.append(
            _placed("ServicePublished", service["id"], {"service": service, "change": change})
        )
    return found


def _placed(kind: str, subject: str, data: dict) -> tuple[str, str, dict]:
    event_type = CATALOGUE[kind]
    return event_type.topic, subject, new_event(kind, event_type.source, subject, data)
