"""Casework's JSON API, for integrations: the same operations as the web pages, under the
same roles. A staff member's API key (`Authorization: Bearer`) identifies them."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask_smorest import Blueprint
from marshmallow import RAISE

from services.casework import schemas
from services.casework.operations import Casework

blp = Blueprint(
    "cases",
    __name__,
    url_prefix="/v1",
    description="Cases and their operations, for coordinators and managers.",
)
SECURITY = [{"staffKey": []}]


def _casework() -> Casework:
    return current_app.extensions["casework"]


@blp.get("/cases")
@blp.arguments(schemas.CaseQuerySchema(), location="query", unknown=RAISE)
@blp.response(200, schemas.CaseSummarySchema(many=True))
@blp.doc(security=SECURITY)
def list_cases(query: dict[str, Any]):
    """A coordinator's own cases, or every case for a manager, newest first."""
    return _casework().list_cases(g.caller, query)


@blp.get("/cases/<case_id>")
@blp.response(200, schemas.CaseDetailSchema())
@blp.doc(security=SECURITY)
def get_case(case_id: str):
    """The whole case. The read is recorded in its audit trail."""
    return _casework().read(g.caller, case_id)


@blp.get("/cases/<case_id>/audit")
@blp.response(200, schemas.AuditEntrySchema(many=True))
@blp.doc(security=SECURITY)
def get_audit_trail(case_id: str):
    """Who read or changed the case, and when (managers)."""
    return _casework().audit_trail(g.caller, case_id)


@blp.post("/cases/<case_id>/allocation")
@blp.arguments(schemas.AllocationSchema())
@blp.response(200, schemas.CaseDetailSchema())
@blp.doc(security=SECURITY)
def allocate(body: dict[str, Any], case_id: str):
    """Allocate or reassign the case to a coordinator (managers). CaseAllocated."""
    return _casework().allocate(g.caller, case_id, body["coordinator_id"])


@blp.post("/cases/<case_id>/contacts")
@blp.arguments(schemas.ContactSchema())
@blp.response(200, schemas.CaseDetailSchema())
@blp.doc(security=SECURITY)
def record_contact(body: dict[str, Any], case_id: str):
    """Record a contact with the family. ContactRecorded (without the notes)."""
    return _casework().record_contact(g.caller, case_id, body)


@blp.post("/cases/<case_id>/needs")
@blp.arguments(schemas.NeedsSchema())
@blp.response(200, schemas.CaseDetailSchema())
@blp.doc(security=SECURITY)
def assess_needs(body: dict[str, Any], case_id: str):
    """Record needs as identified or addressed. NeedsAssessed."""
    return _casework().assess_needs(g.caller, case_id, body["needs"])


@blp.post("/cases/<case_id>/signposts")
@blp.arguments(schemas.SignpostSchema())
@blp.response(200, schemas.CaseDetailSchema())
@blp.doc(security=SECURITY)
def signpost(body: dict[str, Any], case_id: str):
    """Signpost the family to a directory service; their details go only with their
    consent. SignpostMade."""
    return _casework().signpost(g.caller, case_id, body)


@blp.post("/cases/<case_id>/signposts/<signpost_id>/outcome")
@blp.arguments(schemas.SignpostOutcomeSchema())
@blp.response(200, schemas.CaseDetailSchema())
@blp.doc(security=SECURITY)
def record_signpost_outcome(body: dict[str, Any], case_id: str, signpost_id: str):
    """Whether the family engaged with the service. SignpostOutcomeRecorded."""
    return _casework().record_signpost_outcome(g.caller, case_id, signpost_id, body["outcome"])


@blp.post("/cases/<case_id>/support")
@blp.arguments(schemas.SupportSchema())
@blp.response(200, schemas.CaseDetailSchema())
@blp.doc(security=SECURITY)
def set_support(body: dict[str, Any], case_id: str):
    """Start or end ongoing one-to-one support. SupportStarted or SupportEnded."""
    return _casework().set_support(g.caller, case_id, body["ongoing"])


@blp.post("/cases/<case_id>/decline")
@blp.arguments(schemas.DeclineSchema())
@blp.response(200, schemas.CaseDetailSchema())
@blp.doc(security=SECURITY)
def decline(body: dict[str, Any], case_id: str):
    """Decline the referral, with a reason the referrer will read. CaseDeclined."""
    return _casework().decline(g.caller, case_id, body["reason_for_referrer"])


@blp.post("/cases/<case_id>/close")
@blp.arguments(schemas.CloseSchema())
@blp.response(200, schemas.CaseDetailSchema())
@blp.doc(security=SECURITY)
def close(body: dict[str, Any], case_id: str):
    """Close the case with its outcomes, in words for the referrer. CaseClosed."""
    return _casework().close(g.caller, case_id, body["outcomes"], body["outcome_for_referrer"])


@blp.post("/cases/<case_id>/reopen")
@blp.response(200, schemas.CaseDetailSchema())
@blp.doc(security=SECURITY)
def reopen(case_id: str):
    """Reopen a closed or declined case. CaseReopened."""
    return _casework().reopen(g.caller, case_id)


@blp.get("/directory-services")
@blp.arguments(schemas.DirectoryQuerySchema(), location="query", unknown=RAISE)
@blp.response(200, schemas.DirectoryServiceSchema(many=True))
@blp.doc(security=SECURITY)
def directory_services(query: dict[str, Any]):
    """Directory services to signpost to, by need and area, the family's area first."""
    return _casework().signpost_choices(query.get("need"), query.get("local_authority"))
