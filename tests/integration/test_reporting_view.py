"""Reporting's view on the real database: the consumer's path (one event per transaction)
and the bulk path of a rebuild give the same counters, and a new generation is switched
to in one step."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from backbone import mongo
from services.reporting.figures import flatten, total
from services.reporting.repository import BulkApplier, ReportingView, apply_to
from tests.unit.reporting_events import (
    case_event,
    contact,
    event,
    referral_received,
    referral_withdrawn,
)

TEAMS = ["GLASGOW", "LANARKSHIRE", "NORTH_STRATHCLYDE", "SOUTH_WEST_SCOTLAND", "OTHER"]


@pytest.fixture
def view(settings):
    view = ReportingView(mongo.database(settings, "reporting"))
    view.ensure_indexes()
    return view


def histories(count: int, seed: int = 3) -> list:
    """Referrals with case histories, some withdrawn; each case's events in order, the
    topics interleaved."""
    rng = random.Random(seed)
    referral_events, case_events = [], []
    for n in range(count):
        rid, on = f"r{n}", date(2009, 1, 5) + timedelta(days=rng.randrange(200))
        referral_events.append(referral_received(rid, team=rng.choice(TEAMS), referred_on=on))
        case_events.append(
            case_event(
                "CaseOpened",
                rid,
                on,
                partner_id="p",
                referring_team="GLASGOW",
                local_authority="GLASGOW_CITY",
                needs=["housing"],
            )
        )
        if rng.random() < 0.7:
            case_events.append(
                case_event("CaseAllocated", rid, on, coordinator_id=f"c{n % 3}", reassigned=False)
            )
            case_events.append(contact(rid, on + timedelta(days=rng.randrange(10)), ("housing",)))
        if n % 7 == 3:  # withdrawn by the referrer: casework closes its case for it
            referral_events.append(referral_withdrawn(rid, on + timedelta(days=2)))
            case_events.append(
                case_event(
                    "CaseClosed",
                    rid,
                    on + timedelta(days=2),
                    outcomes=["withdrawn"],
                    outcome_for_referrer="Withdrawn by the referrer.",
                )
            )
        elif rng.random() < 0.3:
            case_events.append(
                case_event(
                    "CaseClosed",
                    rid,
                    on + timedelta(days=30),
                    outcomes=["needs_met"],
                    outcome_for_referrer="Done.",
                )
            )
    service = event(
        "ServicePublished",
        {
            "service": {
                "id": "svc1",
                "name": "A service",
                "organization": {"name": "Org", "x_agency_type": "voluntary"},
            },
            "change": {},
        },
    )
    return [*case_events[: count // 2], *referral_events, service, *case_events[count // 2 :]]


def cells_of(generation) -> dict[str, dict]:
    """Each cell's counters (those at zero left out: a count that went up and down again
    is kept as 0 by one path and never written by the other)."""
    return {
        cell["_id"]: {path: n for path, n in flatten(cell["n"]).items() if n}
        for cell in generation.cells.find({}, {"_id": 1, "n": 1})
    }


def test_the_bulk_path_gives_the_counters_the_consumer_gives(view, settings):
    events = histories(60)
    by_consumer = view.current()
    for one in events:
        mongo.in_transaction(view.db, lambda s, e=one: apply_to(by_consumer, e, s))
    rebuilt = view.next_generation()
    bulk = BulkApplier(rebuilt, batch=17)  # batches that split cases' histories
    bulk.add(events)
    bulk.flush()
    assert cells_of(rebuilt) == cells_of(by_consumer)
    assert cells_of(rebuilt)  # something was counted
    assert total(rebuilt.cells.find({"kind": "month"}))["withdrawn"] == 9  # r3, r10, ... r59
    assert rebuilt.services.find_one({"_id": "svc1"})["agency_type"] == "voluntary"


def test_events_given_twice_in_bulk_count_once(view):
    events = histories(20)
    once = view.next_generation()
    applier = BulkApplier(once)
    applier.add(events)
    applier.flush()
    twice = view.next_generation()
    applier = BulkApplier(twice, batch=7)
    applier.add([*events, *events])
    applier.flush()
    assert cells_of(twice) == cells_of(once)


def test_reports_read_the_generation_switched_to(view):
    applier = BulkApplier(view.current())
    applier.add(histories(5))
    applier.flush()
    before = view.month_cells("2009-01", "2009-12")
    rebuilt = view.next_generation()
    assert view.month_cells("2009-01", "2009-12") == before  # still the old one
    view.switch_to(rebuilt)
    assert view.month_cells("2009-01", "2009-12") == []


def test_a_year_unfiltered_by_authority_is_read_from_the_cells_per_team(view):
    applier = BulkApplier(view.current())
    applier.add(histories(40))
    applier.flush()
    by_team = view.month_cells("2009-01", "2009-12")
    assert {cell["kind"] for cell in by_team} == {"team_month"}
    by_authority = view.current().cells.find({"kind": "month"})
    assert total(by_team) == total(by_authority)
    assert total(by_team)["referrals"] == 40
    glasgow = view.month_cells("2009-01", "2009-12", local_authority="GLASGOW_CITY")
    assert {cell["kind"] for cell in glasgow} == {"month"}


def test_a_report_reads_only_the_counters_it_needs(view):
    applier = BulkApplier(view.current())
    applier.add(histories(5))
    applier.flush()
    cells = view.month_cells("2009-01", "2009-12", counters=["referrals"])
    assert cells
    assert all(set(cell["n"]) == {"referrals"} and cell["month"] for cell in cells)


def test_a_view_built_before_the_cells_per_team_is_read_by_authority(view):
    applier = BulkApplier(view.current())
    applier.add(histories(20))
    applier.flush()
    expected = total(view.month_cells("2009-01", "2009-12"))
    # As a view made before cells per team were kept: none, and not said to have them.
    view.current().cells.delete_many({"kind": "team_month"})
    view.state.update_one({"_id": "current"}, {"$set": {"team_cells": False}})
    view.ensure_indexes()  # a view with cells is not taken to have had them from its start
    assert total(view.month_cells("2009-01", "2009-12")) == expected
    rebuilt = view.next_generation()
    view.switch_to(rebuilt)
    assert view.current().team_cells
