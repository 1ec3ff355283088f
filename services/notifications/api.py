"""Notifications' HTTP API for partners, with their intake API key: webhook endpoints,
their deliveries, and the address the organisation's own messages go to."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask_smorest import Blueprint

from services.notifications import schemas
from services.notifications.endpoints import Endpoints
from services.notifications.kinds import WEBHOOK_TYPES

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/v1",
    description="Partners register webhook endpoints (Standard Webhooks) and follow their "
    "deliveries.",
)


def _endpoints() -> Endpoints:
    return current_app.extensions["endpoints"]


@blp.get("/webhooks/event-types")
@blp.response(200, schemas.EventTypeListSchema())
def event_types():
    """The event types an endpoint may ask for."""
    items = [{"type": t, "description": k.summary} for t, k in sorted(WEBHOOK_TYPES.items())]
    return {"items": items}


@blp.post("/webhooks/endpoints")
@blp.arguments(schemas.EndpointNewSchema())
@blp.response(201, schemas.EndpointCreatedSchema())
def register_endpoint(body: dict[str, Any]):
    """Register an endpoint. Its signing secret is in this answer and never again."""
    return _endpoints().register(g.caller, body)


@blp.get("/webhooks/endpoints")
@blp.response(200, schemas.EndpointListSchema())
def list_endpoints():
    """This partner's endpoints."""
    return {"items": _endpoints().of_partner(g.caller)}


@blp.get("/webhooks/endpoints/<endpoint_id>")
@blp.response(200, schemas.EndpointSchema())
def get_endpoint(endpoint_id: str):
    """One of this partner's endpoints; another partner's is not found."""
    return _endpoints().one(g.caller, endpoint_id)


@blp.delete("/webhooks/endpoints/<endpoint_id>")
@blp.response(204)
def remove_endpoint(endpoint_id: str):
    """Stop sending to an endpoint and forget it."""
    _endpoints().remove(g.caller, endpoint_id)


@blp.post("/webhooks/endpoints/<endpoint_id>/secret")
@blp.response(200, schemas.RotatedSchema())
def rotate_secret(endpoint_id: str):
    """A new signing secret, shown once; webhooks carry both signatures for 24 hours."""
    return _endpoints().rotate(g.caller, endpoint_id)


@blp.post("/webhooks/endpoints/<endpoint_id>/enable")
@blp.response(200, schemas.EndpointSchema())
def enable_endpoint(endpoint_id: str):
    """Send to a disabled endpoint again (ask for missed deliveries to be sent again)."""
    return _endpoints().enable(g.caller, endpoint_id)


@blp.get("/webhooks/endpoints/<endpoint_id>/deliveries")
@blp.response(200, schemas.DeliveryListSchema())
def deliveries(endpoint_id: str):
    """The endpoint's 50 most recent deliveries, with every attempt and status code."""
    return {"items": _endpoints().deliveries(g.caller, endpoint_id)}


@blp.post("/webhooks/deliveries/<message_id>/resend")
@blp.response(202, schemas.DeliverySchema())
def resend(message_id: str):
    """Send a delivery again, with the same webhook-id."""
    return _endpoints().resend(g.caller, message_id)


@blp.get("/partner/contact")
@blp.response(200, schemas.ContactSchema())
def get_contact():
    """Where the organisation's own messages go (a disabled endpoint, referral updates
    when a referrer gave no email address)."""
    partner = current_app.extensions["store"].partners.by_id(g.caller["_id"]) or {}
    return {"email": partner.get("contact_email")}


@blp.put("/partner/contact")
@blp.arguments(schemas.ContactSchema())
@blp.response(200, schemas.ContactSchema())
def set_contact(body: dict[str, Any]):
    """Name the address the organisation's own messages go to."""
    current_app.extensions["store"].partners.set_contact(g.caller["_id"], body["email"])
    return body
