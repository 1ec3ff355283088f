"""In-memory stand-ins for casework's adapters, so the service layer's rules are checked
without a database (cosmicpython's FakeRepository): `FakeCases` offers what `Cases` does,
over dicts; `FakeStaff` is a staff directory of a few accounts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from copy import deepcopy
from datetime import datetime
from typing import Any

from backbone.errors import Conflict
from services.casework.domain import Change


class FakeCases:
    def __init__(
        self, cases: Iterable[dict[str, Any]] = (), services: Iterable[dict[str, Any]] = ()
    ) -> None:
        self.stored = {case["_id"]: {"version": 1, **deepcopy(case)} for case in cases}
        self.directory = {service["_id"]: deepcopy(service) for service in services}
        self.events: dict[str, list[str]] = defaultdict(list)  # case id -> event types
        self.audit: list[dict[str, Any]] = []

    def ensure_indexes(self) -> None:
        pass

    def in_transaction(self, write: Callable[[Any], Any]) -> Any:
        return write(None)

    def get(self, case_id: str) -> dict[str, Any] | None:
        case = self.stored.get(case_id)
        return deepcopy(case) if case else None

    def find(
        self,
        *,
        coordinator_id: str | None = None,
        status: str | None = None,
        local_authority: str | None = None,
        need: str | None = None,
    ) -> list[dict[str, Any]]:
        found = [
            deepcopy(case)
            for case in self.stored.values()
            if (coordinator_id is None or case["coordinator_id"] == coordinator_id)
            and (status is None or case["status"] == status)
            and (local_authority is None or case["local_authority"] == local_authority)
            and (need is None or need in case["needs"])
        ]
        return sorted(found, key=lambda case: case["opened_at"], reverse=True)

    def waiting_for_coordinator(self) -> int:
        return len(self.find(status="open"))

    def without_first_contact(self) -> list[dict[str, Any]]:
        return [
            case
            for case in self.find()
            if case["status"] in ("open", "allocated") and case["first_contact_at"] is None
        ]

    def open_for_referral(self, case: dict[str, Any], event: dict, session: Any) -> bool:
        if any(c["referral_id"] == case["referral_id"] for c in self.stored.values()):
            return False
        self.stored[case["_id"]] = {**deepcopy(case), "version": 1}
        self.events[case["_id"]].append(event["type"])
        return True

    def for_referral(self, referral_id: str, session: Any) -> dict[str, Any] | None:
        found = [c for c in self.stored.values() if c["referral_id"] == referral_id]
        return deepcopy(found[0]) if found else None

    def apply(
        self,
        case: dict[str, Any],
        changes: list[Change],
        staff: dict[str, Any],
        at: datetime,
        session: Any = None,
    ) -> None:
        stored = self.stored[case["_id"]]
        if stored["version"] != case["version"]:
            raise Conflict("The case changed meanwhile: read it and try again.")
        changed = deepcopy(stored)
        for change in changes:
            for path, value in change.set.items():
                *parents, last = path.split(".")
                _at_path(changed, parents)[_key(last)] = value
            for path, entry in change.push.items():
                _at_path(changed, path.split(".")).append(entry)
            kind = change.timeline_kind
            changed["timeline"].append({"at": at, "by": staff["_id"], "kind": kind})
            self.audit.append(_audit(case["_id"], staff, at, kind, change.summary))
        changed["version"] += 1
        self.stored[case["_id"]] = changed
        self.events[case["_id"]].extend(c.event_type for c in changes if c.event_type)

    def record_reads(self, case_ids: list[str], staff: dict, at: datetime, what: str) -> None:
        self.audit.extend(_audit(case_id, staff, at, "read", what) for case_id in case_ids)

    def record_refusal(self, case_id: str, staff: dict, at: datetime) -> None:
        self.audit.append(_audit(case_id, staff, at, "refused", "not their case"))

    def audit_trail(self, case_id: str) -> list[dict[str, Any]]:
        return [entry for entry in self.audit if entry["case_id"] == case_id]

    def service(self, service_id: str) -> dict[str, Any] | None:
        return deepcopy(self.directory.get(service_id))

    def active_services(self, need: str | None = None) -> list[dict[str, Any]]:
        return [
            deepcopy(service)
            for service in self.directory.values()
            if service["status"] == "active" and (need is None or need in service["needs"])
        ]

    def keep_service(self, service: dict[str, Any], session: Any) -> None:
        self.directory[service["_id"]] = deepcopy(service)


class FakeStaff:
    """The staff directory the service layer asks about coordinators."""

    def __init__(self, *accounts: dict[str, Any]) -> None:
        self.accounts = {account["_id"]: account for account in accounts}

    def by_id(self, staff_id: str) -> dict[str, Any] | None:
        account = self.accounts.get(staff_id)
        return account if account and not account.get("revoked_at") else None

    def coordinators(self) -> list[dict[str, Any]]:
        current = [a for a in self.accounts.values() if "coordinator" in a["roles"]]
        return sorted((a for a in current if not a.get("revoked_at")), key=lambda a: a["name"])


def _at_path(document: Any, path: list[str]) -> Any:
    """What a MongoDB dotted path names: dict keys, and list indexes as digits."""
    for part in path:
        document = document[_key(part)]
    return document


def _key(part: str) -> str | int:
    return int(part) if part.isdigit() else part


def _audit(case_id: str, staff: dict, at: datetime, action: str, what: str) -> dict[str, Any]:
    return {"case_id": case_id, "at": at, "staff_id": staff["_id"], "action": action, "what": what}
