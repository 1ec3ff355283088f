"""The reports' figures, from the cells a query found: pure, no clock, no I/O.

Cells hold counters per referral month, team and local authority (see facts.py), so a
report sums a few hundred small documents however many referrals there are. Figures are
JSON-ready dicts: the API answers them as they are, and report.py lays them out as tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from backbone.clock import FIRST_CONTACT_WORKING_DAYS, working_days_between
from backbone.events import vocabulary as v
from backbone.events.case import CLOSING_OUTCOMES, SIGNPOST_OUTCOMES

# ---- months ------------------------------------------------------------------------------


def months_between(first: str, last: str) -> list[str]:
    """Every month from `first` to `last` ("2008-10" to "2009-09"), both included."""
    year, month = int(first[:4]), int(first[5:])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def last_complete_months(today: date, count: int = 12) -> tuple[str, str]:
    """The last `count` whole months before the one `today` is in."""
    end = today.replace(day=1) - timedelta(days=1)
    year, month = end.year, end.month - (count - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}", f"{end:%Y-%m}"


def month_label(month: str) -> str:
    return date.fromisoformat(f"{month}-01").strftime("%b %Y")


def period_label(first: str, last: str) -> str:
    start, end = (date.fromisoformat(f"{m}-01").strftime("%B %Y") for m in (first, last))
    return start if first == last else f"{start} to {end}"


# ---- summing cells -----------------------------------------------------------------------


def flatten(counts: dict[str, Any], prefix: str = "") -> Counter:
    """{"needs_identified": {"housing": 2}} as {"needs_identified.housing": 2}."""
    flat: Counter = Counter()
    for key, value in counts.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] += value
    return flat


def total(cells: Iterable[dict[str, Any]]) -> Counter:
    """The sum of cells' counters, by their flattened paths (as `flatten` names them)."""
    summed: Counter = Counter()
    for cell in cells:
        _add(summed, cell.get("n", {}), "")
    return summed


def _add(summed: Counter, counts: dict[str, Any], prefix: str) -> None:
    # Into one Counter, with no Counter per cell and level as flatten makes: a year's
    # headline sums some 20,000 counters.
    for key, value in counts.items():
        if isinstance(value, dict):
            _add(summed, value, f"{prefix}{key}.")
        else:
            summed[f"{prefix}{key}"] += value


def _under(totals: Counter, prefix: str) -> dict[str, int]:
    """The counters below `prefix`: {"housing": 2, ...} for "needs_identified"."""
    start = f"{prefix}."
    return {path[len(start) :]: n for path, n in totals.items() if path.startswith(start)}


# ---- the reports -------------------------------------------------------------------------


def referrals_by_month(cells: list[dict[str, Any]], months: list[str]) -> dict[str, Any]:
    """Table 1 of the seed: referrals per month (by referral date) per referring team."""
    return _by_month(cells, months, "referrals")


def withdrawals_by_month(cells: list[dict[str, Any]], months: list[str]) -> dict[str, Any]:
    """The referrals withdrawn per month (by referral date) per referring team."""
    return _by_month(cells, months, "withdrawn")


def _by_month(cells: list[dict[str, Any]], months: list[str], counter: str) -> dict[str, Any]:
    grid = {team: dict.fromkeys(months, 0) for team in v.REFERRING_TEAMS}
    for cell in cells:
        if cell["month"] in grid[cell["team"]]:
            grid[cell["team"]][cell["month"]] += cell.get("n", {}).get(counter, 0)
    teams = [
        {
            "team": team,
            "label": label,
            "counts": list(grid[team].values()),
            "total": sum(grid[team].values()),
        }
        for team, label in v.REFERRING_TEAMS.items()
    ]
    month_totals = [sum(row["counts"][i] for row in teams) for i in range(len(months))]
    return {
        "months": months,
        "teams": teams,
        "month_totals": month_totals,
        "total": sum(month_totals),
    }


def needs(totals: Counter) -> dict[str, Any]:
    """Figure 1 of the seed: per need, how many referrals identified it and how many had
    it answered (addressed in a contact or marked addressed, or a signpost made for it)."""
    identified, answered = _under(totals, "needs_identified"), _under(totals, "needs_answered")
    return {
        "needs": [
            {
                "need": need,
                "label": label,
                "identified": identified.get(need, 0),
                "answered": answered.get(need, 0),
            }
            for need, label in v.NEEDS.items()
        ]
    }


def headline(totals: Counter, services: dict[str, dict[str, Any]], today: date) -> dict[str, Any]:
    """The figures in the text of the seed's report, for the referrals counted in `totals`.

    Cases open, allocated and waiting are as they stand `today`; times to first contact
    are working days (Monday to Friday) from the referral date to the first contact.
    """
    status = _under(totals, "status")
    waiting = _under(totals, "waiting_since")
    late = sum(
        n
        for day, n in waiting.items()
        if working_days_between(date.fromisoformat(day), today) > FIRST_CONTACT_WORKING_DAYS
    )
    first_contact = {int(days): n for days, n in _under(totals, "first_contact_days").items()}
    return {
        "referrals": totals["referrals"],
        "referrals_with_children": totals["with_children"],
        "children": totals["children"],
        "referrals_given_one_to_one_support": totals["one_to_one_support"],
        "open_now": sum(status.get(s, 0) for s in ("received", "open", "allocated")),
        "allocated_now": status.get("allocated", 0),
        "waiting_for_first_contact": sum(waiting.values()),
        "waiting_more_than_5_working_days": late,
        "first_contact_working_days": {
            "contacted": sum(first_contact.values()),
            "median": percentile(first_contact, 50),
            "percentile_90": percentile(first_contact, 90),
        },
        "support": _support(totals, today),
        "signposts": _signposts(totals, services),
        "closing_outcomes": {
            outcome: _under(totals, "closing_outcomes").get(outcome, 0)
            for outcome in CLOSING_OUTCOMES
        },
        "closed": status.get("closed", 0),
        "declined": status.get("declined", 0),
        "withdrawn": totals["withdrawn"],
        "withdrawal_reasons": {
            reason: _under(totals, "withdrawn_reasons").get(reason, 0)
            for reason in v.WITHDRAWAL_REASONS
        },
    }


def percentile(histogram: dict[int, int], percent: float) -> int | None:
    """The nearest-rank percentile of values counted in `histogram` (value -> how many):
    the smallest value that at least `percent`% of them do not exceed. None if empty."""
    count = sum(histogram.values())
    if count == 0:
        return None
    rank = max(1, -(-count * percent // 100))  # ceiling, without floats
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable: the ranks add up to the count")


def _support(totals: Counter, today: date) -> dict[str, Any]:
    ended = [int(days) for days in _under(totals, "support_days")]
    ongoing = _under(totals, "support_ongoing_since")
    running = [(today - date.fromisoformat(since)).days for since in ongoing]
    longest = max([*ended, *running], default=None)
    return {
        "longest_period_days": longest,
        "longest_is_ongoing": longest is not None and longest in running and longest not in ended,
        "ongoing": sum(ongoing.values()),
        "periods_ended": sum(_under(totals, "support_days").values()),
    }


def _signposts(totals: Counter, services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Signposts by the agency type of the service (statutory, voluntary, ...) and their
    outcomes. A service the directory has not told reporting about counts as not recorded."""
    by_type: dict[str, Counter] = {}
    for path, n in _under(totals, "signposts").items():
        service_id, outcome = path.rsplit(".", 1)
        agency_type = services.get(service_id, {}).get("agency_type", "not_recorded")
        by_type.setdefault(agency_type, Counter())[outcome] += n
    return {
        "total": sum(sum(c.values()) for c in by_type.values()),
        "by_agency_type": [
            {
                "agency_type": agency_type,
                "label": AGENCY_TYPE_LABELS.get(agency_type, agency_type),
                **{outcome: counts.get(outcome, 0) for outcome in SIGNPOST_OUTCOMES},
                "total": sum(counts.values()),
            }
            for agency_type, counts in sorted(by_type.items())
        ],
    }


AGENCY_TYPE_LABELS = {**v.AGENCY_TYPES, "not_recorded": "Not recorded"}


def caseloads(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Cases allocated to each coordinator now, and how many of them wait for a first
    contact: counts only, for managers."""
    rows = [
        {
            "coordinator_id": cell["_id"].split("|", 1)[1],
            "cases": cell.get("n", {}).get("cases", 0),
            "waiting_for_first_contact": cell.get("n", {}).get("waiting_for_first_contact", 0),
        }
        for cell in cells
    ]
    rows = [row for row in rows if row["cases"]]
    rows.sort(key=lambda row: (-row["cases"], row["coordinator_id"]))
    return {"coordinators": rows, "cases": sum(row["cases"] for row in rows)}
