"""Casework's service layer: who may do what to which case, then the rule, then the write.
The JSON API and the web pages both come through here, so the roles are enforced once."""

from __future__ import annotations

from typing import Any

from backbone.clock import now
from backbone.errors import Forbidden, NotAllowed, NotFound
from backbone.ids import new_id
from services.casework import domain
from services.casework.repository import Cases
from services.casework.staff import Staff

# A coordinator is not told that another's case exists: it is not found, as no case is.
NOT_YOURS = "No case of yours has this id."
ONLY_MANAGERS_ALLOCATE = "Only a manager allocates cases."


def is_manager(staff: dict[str, Any]) -> bool:
    return "manager" in staff.get("roles", [])


class Casework:
    def __init__(self, cases: Cases, staff: Staff) -> None:
        self.cases = cases
        self.staff = staff

    # ---- reads ------------------------------------------------------------------------

    def list_cases(self, staff: dict[str, Any], filters: dict[str, Any]) -> list[dict[str, Any]]:
        """The cases this person may see, filtered by status, area, need and whether the
        family is still waiting for a first contact."""
        found = self.cases.find(
            coordinator_id=None if is_manager(staff) else staff["_id"],
            status=filters.get("status"),
            local_authority=filters.get("local_authority"),
            need=filters.get("need"),
        )
        at = now()
        if filters.get("waiting_for_first_contact"):
            found = [c for c in found if domain.waiting_for_first_contact(c, at)]
        # a list shows each family's name: that is a read of each case
        self.cases.record_reads([c["_id"] for c in found], staff, at, "listed")
        return found

    def read(self, staff: dict[str, Any], case_id: str, what: str = "case") -> dict[str, Any]:
        """A case this person may see; the read goes into the case's audit trail."""
        case = self._visible(staff, case_id)
        self.cases.record_reads([case_id], staff, now(), what)
        return case

    def signpost_choices(self, need: str | None, local_authority: str | None) -> list[dict]:
        """Current directory services for a need, the family's own area first."""
        return domain.signpost_choices(self.cases.active_services(need), local_authority)

    def coordinators(self, staff: dict[str, Any]) -> list[dict[str, Any]]:
        """The coordinators a manager may allocate a case to."""
        if not is_manager(staff):
            raise Forbidden(ONLY_MANAGERS_ALLOCATE)
        return self.staff.coordinators()

    def audit_trail(self, staff: dict[str, Any], case_id: str) -> list[dict[str, Any]]:
        if not is_manager(staff):
            raise Forbidden("Only a manager reads a case's audit trail.")
        self._visible(staff, case_id)
        trail = self.cases.audit_trail(case_id)
        self.cases.record_reads([case_id], staff, now(), "audit trail")
        return trail

    # ---- changes ----------------------------------------------------------------------

    def allocate(self, staff: dict, case_id: str, coordinator_id: str) -> dict[str, Any]:
        if not is_manager(staff):
            raise Forbidden(ONLY_MANAGERS_ALLOCATE)
        case = self._visible(staff, case_id)
        coordinator = self.staff.by_id(coordinator_id)
        if coordinator is None:
            raise NotAllowed("No current coordinator has this id.", "/coordinator_id")
        return self._apply(staff, case, [domain.allocate(case, coordinator, now(), staff["_id"])])

    def record_contact(self, staff: dict, case_id: str, contact: dict) -> dict[str, Any]:
        case = self._visible(staff, case_id)
        at = now()
        return self._apply(
            staff, case, [domain.record_contact(case, contact, new_id(), at, staff["_id"])]
        )

    def assess_needs(self, staff: dict, case_id: str, needs: list[dict]) -> dict[str, Any]:
        case = self._visible(staff, case_id)
        return self._apply(staff, case, [domain.assess_needs(case, needs, now(), staff["_id"])])

    def signpost(self, staff: dict, case_id: str, body: dict) -> dict[str, Any]:
        case = self._visible(staff, case_id)
        service = self.cases.service(body["service_id"])
        change = domain.signpost(
            case,
            service,
            new_id(),
            body["method"],
            body["personal_details_shared"],
            now(),
            staff["_id"],
        )
        return self._apply(staff, case, [change])

    def record_signpost_outcome(
        self, staff: dict, case_id: str, signpost_id: str, outcome: str
    ) -> dict[str, Any]:
        case = self._visible(staff, case_id)
        change = domain.record_signpost_outcome(case, signpost_id, outcome, now(), staff["_id"])
        return self._apply(staff, case, [change])

    def set_support(self, staff: dict, case_id: str, ongoing: bool) -> dict[str, Any]:
        case = self._visible(staff, case_id)
        operation = domain.start_support if ongoing else domain.end_support
        return self._apply(staff, case, [operation(case, now(), staff["_id"])])

    def decline(self, staff: dict, case_id: str, reason: str) -> dict[str, Any]:
        case = self._visible(staff, case_id)
        return self._apply(staff, case, domain.decline(case, reason, now(), staff["_id"]))

    def close(self, staff: dict, case_id: str, outcomes: list[str], words: str) -> dict:
        case = self._visible(staff, case_id)
        return self._apply(staff, case, domain.close(case, outcomes, words, now(), staff["_id"]))

    def reopen(self, staff: dict, case_id: str) -> dict[str, Any]:
        case = self._visible(staff, case_id)
        return self._apply(staff, case, [domain.reopen(case, now(), staff["_id"])])

    # ---- shared -----------------------------------------------------------------------

    def _visible(self, staff: dict[str, Any], case_id: str) -> dict[str, Any]:
        """A coordinator sees and changes their own cases; a manager any case. An attempt
        on another's case is refused as if it did not exist, and kept in its audit trail."""
        case = self.cases.get(case_id)
        if case is None:
            raise NotFound(NOT_YOURS)
        if not (is_manager(staff) or case["coordinator_id"] == staff["_id"]):
            self.cases.record_refusal(case_id, staff, now())
            raise NotFound(NOT_YOURS)
        return case

    def _apply(self, staff: dict, case: dict, changes: list[domain.Change]) -> dict[str, Any]:
        self.cases.apply(case, changes, staff, now())
        return self.cases.get(case["_id"])
