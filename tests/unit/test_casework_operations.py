"""Casework's service layer over in-memory repositories: who may see and change which
case, what is recorded in the audit trail, the list's filters, and that each operation's
change reaches the repository. The adapters themselves are tested against the real
database in tests/integration."""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta

import pytest

from backbone.clock import now
from backbone.errors import Conflict, Forbidden, NotAllowed, NotFound
from services.casework import domain
from services.casework.operations import Casework
from services.casework.repository import Cases
from tests.factories import referral_received_data
from tests.unit.casework_fakes import FakeCases, FakeStaff

MANAGER = {"_id": "m1", "name": "Morgan Manager", "roles": ["manager"]}
CASEY = {"_id": "c1", "name": "Casey Coordinator", "roles": ["coordinator"]}
ROBIN = {"_id": "c2", "name": "Robin Coordinator", "roles": ["coordinator"]}
GONE = {"_id": "c3", "name": "Alex Former", "roles": ["coordinator"], "revoked_at": now()}
CRUSE = {
    "_id": "s1",
    "name": "Cruse bereavement helpline",
    "status": "active",
    "needs": ["bereavement"],
    "areas": ["Scotland"],
}


def a_case(case_id: str, received: datetime | None = None, **changes) -> dict:
    """A case opened from a referral (yesterday's, unless `received` says when)."""
    received = received or now() - timedelta(days=1)
    referral = {**referral_received_data(), "referral_id": f"r-{case_id}"}
    referral["received_at"] = received.isoformat()
    return {**domain.open_case(case_id, referral, received), **changes}


def caseys(case_id: str = "k1", **changes) -> dict:
    return a_case(case_id, **{"status": "allocated", "coordinator_id": CASEY["_id"], **changes})


def casework(*cases: dict, services: tuple[dict, ...] = (CRUSE,)) -> Casework:
    return Casework(FakeCases(cases, services), FakeStaff(MANAGER, CASEY, ROBIN, GONE))


def audit(service: Casework, action: str | None = None) -> list[tuple[str, str, str]]:
    """(case id, staff id, what) of each audit entry, of one action if given."""
    return [
        (entry["case_id"], entry["staff_id"], entry["what"])
        for entry in service.cases.audit
        if action is None or entry["action"] == action
    ]


def test_the_fake_offers_every_method_of_the_real_repository():
    def methods(cls: type) -> set[str]:
        return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if name[0] != "_"}

    assert methods(Cases) <= methods(FakeCases)


def test_a_coordinator_lists_their_own_cases_and_a_manager_every_case():
    service = casework(
        caseys("k1", received=now() - timedelta(days=3)),
        a_case("k2", now() - timedelta(days=2), coordinator_id=ROBIN["_id"]),
        a_case("k3", now() - timedelta(days=1)),
    )
    assert [c["_id"] for c in service.list_cases(CASEY, {})] == ["k1"]
    assert {c["_id"] for c in service.list_cases(MANAGER, {})} == {"k1", "k2", "k3"}
    # each listed case shows the family's name: a read of each, by whoever listed it
    assert sorted(audit(service, "read"), key=lambda entry: entry[1]) == [
        ("k1", "c1", "listed"),
        *[(case_id, "m1", "listed") for case_id in ("k3", "k2", "k1")],  # newest first
    ]


def test_another_coordinators_case_is_not_found_and_the_attempt_is_recorded():
    service = casework(caseys())
    attempts = [
        lambda: service.read(ROBIN, "k1"),
        lambda: service.decline(ROBIN, "k1", "Not ours."),
        lambda: service.set_support(ROBIN, "k1", True),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound) as refused:
            attempt()
        assert refused.value.detail == "No case of yours has this id."
    assert audit(service) == [("k1", "c2", "not their case")] * 3
    assert service.cases.get("k1")["version"] == 1


def test_a_case_that_does_not_exist_is_not_found_as_another_coordinators_is():
    service = casework()
    with pytest.raises(NotFound, match="No case of yours"):
        service.read(CASEY, "nowhere")
    assert audit(service) == []  # no case, so no trail to record the attempt in


def test_reads_are_recorded_with_what_was_read():
    service = casework(caseys())
    service.read(CASEY, "k1")
    service.read(MANAGER, "k1", "contact form")
    service.audit_trail(MANAGER, "k1")
    assert audit(service, "read") == [
        ("k1", "c1", "case"),
        ("k1", "m1", "contact form"),
        ("k1", "m1", "audit trail"),
    ]


def test_only_a_manager_allocates_and_reads_audit_trails():
    service = casework(a_case("k1"))
    for refused in [
        lambda: service.allocate(CASEY, "k1", CASEY["_id"]),
        lambda: service.coordinators(CASEY),
        lambda: service.audit_trail(CASEY, "k1"),
    ]:
        with pytest.raises(Forbidden):
            refused()
    assert service.cases.get("k1")["coordinator_id"] is None
    assert [c["_id"] for c in service.coordinators(MANAGER)] == ["c1", "c2"]  # not revoked
    allocated = service.allocate(MANAGER, "k1", CASEY["_id"])
    assert (allocated["status"], allocated["coordinator_id"]) == ("allocated", "c1")
    assert service.cases.events["k1"] == ["CaseAllocated"]
    assert [entry["action"] for entry in service.audit_trail(MANAGER, "k1")] == ["CaseAllocated"]


@pytest.mark.parametrize("coordinator_id", ["nobody", GONE["_id"], MANAGER["_id"]])
def test_a_case_is_allocated_only_to_a_current_coordinator(coordinator_id):
    service = casework(a_case("k1"))
    with pytest.raises(NotAllowed) as refused:
        service.allocate(MANAGER, "k1", coordinator_id)
    assert refused.value.field == "/coordinator_id"
    assert service.cases.events["k1"] == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {"allocated", "closed", "elsewhere", "housing", "waiting"}),
        ({"status": "closed"}, {"closed"}),
        ({"local_authority": "RENFREWSHIRE"}, {"elsewhere"}),
        ({"need": "housing"}, {"housing"}),
        ({"waiting_for_first_contact": True}, {"waiting"}),
        ({"waiting_for_first_contact": True, "status": "closed"}, set()),
    ],
)
def test_the_list_filters_by_status_area_need_and_waiting_for_a_first_contact(filters, expected):
    long_ago = now() - timedelta(days=14)
    service = casework(
        caseys("allocated", first_contact_at=now()),
        caseys("closed", status="closed", received=long_ago),
        caseys("elsewhere", local_authority="RENFREWSHIRE", first_contact_at=now()),
        caseys("housing", needs={"housing": {"status": "identified"}}, first_contact_at=now()),
        a_case("waiting", received=long_ago),
    )
    assert {c["_id"] for c in service.list_cases(MANAGER, filters)} == expected


def test_a_case_changed_since_it_was_read_is_a_conflict_and_nothing_changes():
    class ChangedMeanwhile(FakeCases):
        """Someone else's change lands between this read and this write."""

        def get(self, case_id: str) -> dict | None:
            case = super().get(case_id)
            self.stored[case_id]["version"] += 1
            return case

    service = Casework(ChangedMeanwhile([caseys()]), FakeStaff(CASEY))
    with pytest.raises(Conflict):
        service.set_support(CASEY, "k1", True)
    assert service.cases.events["k1"] == []
    assert service.cases.stored["k1"]["support"]["ongoing"] is False


def contact() -> dict:
    return {
        "method": "telephone",
        "happened_at": now() - timedelta(hours=1),
        "duration_minutes": 20,
        "needs_addressed": ["children_and_parenting"],
    }


OPERATIONS = {
    "record_contact": (
        lambda s: s.record_contact(CASEY, "k1", contact()),
        ["ContactRecorded"],
        lambda case: (
            len(case["contacts"]) == 1
            and case["needs"]["children_and_parenting"]["status"] == "addressed"
            and case["first_contact_at"] is not None
        ),
    ),
    "assess_needs": (
        lambda s: s.assess_needs(CASEY, "k1", [{"need": "housing", "status": "identified"}]),
        ["NeedsAssessed"],
        lambda case: case["needs"]["housing"]["status"] == "identified",
    ),
    "signpost": (
        lambda s: s.signpost(
            CASEY, "k1", {"service_id": "s1", "method": "letter", "personal_details_shared": False}
        ),
        ["SignpostMade"],
        lambda case: (
            [(p["service_id"], p["outcome"]) for p in case["signposts"]][-1] == ("s1", "pending")
        ),
    ),
    "record_signpost_outcome": (
        lambda s: s.record_signpost_outcome(CASEY, "k1", "p1", "engaged"),
        ["SignpostOutcomeRecorded"],
        lambda case: case["signposts"][0]["outcome"] == "engaged",
    ),
    "start_support": (
        lambda s: s.set_support(CASEY, "k1", True),
        ["SupportStarted"],
        lambda case: case["support"]["ongoing"] is True,
    ),
    "end_support": (
        lambda s: s.set_support(CASEY, "k1", False),
        ["SupportEnded"],
        lambda case: case["support"]["ongoing"] is False and len(case["support"]["periods"]) == 2,
    ),
    "decline": (
        lambda s: s.decline(CASEY, "k1", "Outside the areas we cover."),
        ["SupportEnded", "CaseDeclined"],  # declining ends the ongoing support first
        lambda case: case["status"] == "declined",
    ),
    "close": (
        lambda s: s.close(CASEY, "k1", ["needs_met"], "Done."),
        ["SupportEnded", "CaseClosed"],
        lambda case: (case["status"], case["outcomes"]) == ("closed", ["needs_met"]),
    ),
}


@pytest.mark.parametrize("name", OPERATIONS)
def test_each_operations_change_reaches_the_repository_with_its_event_and_audit_entry(name):
    operation, events, changed = OPERATIONS[name]
    signpost = {"id": "p1", "service_id": "s1", "service_name": "Cruse", "outcome": "pending"}
    support = {"ongoing": name != "start_support", "started_at": now(), "periods": [{}]}
    service = casework(caseys(signposts=[signpost], support=support))
    answered = operation(service)
    stored = service.cases.get("k1")
    assert answered == stored
    assert changed(stored)
    assert stored["version"] == 2  # one write, however many changes
    assert service.cases.events["k1"] == events
    # one audit entry for each change, attributed to the coordinator who made it
    assert [(e["action"], e["staff_id"]) for e in service.cases.audit] == [
        (event, "c1") for event in events
    ]


def test_reopening_a_closed_case_gives_it_back_to_its_coordinator():
    service = casework(caseys(status="closed", outcomes=["needs_met"]))
    reopened = service.reopen(CASEY, "k1")
    assert (reopened["status"], reopened["outcomes"]) == ("allocated", None)
    assert service.cases.events["k1"] == ["CaseReopened"]


def test_signposting_needs_a_current_service():
    withdrawn = {**CRUSE, "_id": "s2", "status": "inactive"}
    service = casework(caseys(), services=(CRUSE, withdrawn))
    for service_id in ["s2", "nowhere"]:
        with pytest.raises(NotAllowed) as refused:
            service.signpost(
                CASEY,
                "k1",
                {"service_id": service_id, "method": "letter", "personal_details_shared": False},
            )
        assert refused.value.field == "/service_id"
    assert service.cases.events["k1"] == []


def test_signpost_choices_are_current_services_for_the_need_the_familys_area_first():
    local = {
        **CRUSE,
        "_id": "s2",
        "name": "Bereavement support, Glasgow",
        "areas": ["Glasgow City"],
    }
    housing = {**CRUSE, "_id": "s3", "name": "Housing advice", "needs": ["housing"]}
    service = casework(services=(CRUSE, local, housing, {**local, "_id": "s4", "status": "x"}))
    chosen = service.signpost_choices("bereavement", "GLASGOW_CITY")
    assert [s["_id"] for s in chosen] == ["s2", "s1"]
    assert [s["_id"] for s in service.signpost_choices(None, None)] == ["s2", "s1", "s3"]
