"""What casework does with other services' events: a case for each referral, closed if the
referral is withdrawn, and its own view of the directory's services."""

from __future__ import annotations

from pymongo.client_session import ClientSession

from backbone.clock import now
from backbone.consumer import Handler
from backbone.events.catalogue import event_type
from backbone.events.envelope import Event, new_event
from backbone.ids import new_id
from services.casework import SOURCE, domain
from services.casework.repository import Cases


def handlers(cases: Cases) -> dict[str, Handler]:
    def referral_received(event: Event, session: ClientSession) -> None:
        # Stored in its JSON form, as intake sent it: dates as ISO strings.
        referral = event_type(event.type).schema.dump(event.data)
        case = domain.open_case(new_id(), referral, now())
        opened = new_event("CaseOpened", SOURCE, case["_id"], domain.case_opened(case))
        cases.open_for_referral(case, opened, session)

    def referral_withdrawn(event: Event, session: ClientSession) -> None:
        # Its ReferralReceived came first (one topic, keyed by referral id), so the case
        # is there; if it is not, that event failed, and this one waits beside it.
        case = cases.for_referral(event.data["referral_id"], session)
        if case is None:
            raise LookupError("no case for the withdrawn referral: its ReferralReceived failed")
        changes = domain.withdraw(case, event.data, now())
        if changes:  # none when the withdrawal is known already
            referrer = {"_id": f"partner:{case['partner_id']}", "name": case["partner_name"]}
            cases.apply(case, changes, referrer, now(), session)

    def service_changed(event: Event, session: ClientSession) -> None:
        service = event.data["service"]
        withdrawn = event.type == "ServiceWithdrawn"
        cases.keep_service(
            {
                "_id": service["id"],
                "name": service["name"],
                "description": service.get("description", ""),
                "status": "inactive" if withdrawn else service.get("status", "active"),
                "organization_name": service["organization"]["name"],
                "areas": [area["name"] for area in service.get("service_areas", [])],
                "needs": [
                    a["taxonomy_term"]["code"]
                    for a in service.get("attributes", [])
                    if a.get("taxonomy_term", {}).get("code")
                ],
                "phones": [p["number"] for p in service.get("phones", [])],
                "last_modified": event.data["change"]["at"],
            },
            session,
        )

    return {
        "ReferralReceived": referral_received,
        "ReferralWithdrawn": referral_withdrawn,
        "ServicePublished": service_changed,
        "ServiceUpdated": service_changed,
        "ServiceWithdrawn": service_changed,
    }
