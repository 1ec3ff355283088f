"""The two ways a message goes out: email over SMTP (backbone.mail), and Standard Webhooks
to partners' endpoints. Each answers an Outcome and never raises for a failed send."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from standardwebhooks.webhooks import Webhook

from backbone.clock import now
from backbone.mail import Mailer, Outcome, new_email
from backbone.sealing import Sealer, SealingError
from backbone.settings import Settings
from services.notifications import webhook_client
from services.notifications.address_guard import Resolver, system_resolver

log = logging.getLogger(__name__)


class EmailChannel:
    """A message's email, sent through backbone.mail (SMTP as the settings say). Each
    sending thread keeps its connection open between messages."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.mailer = Mailer(settings)

    def send(self, message: dict[str, Any]) -> Outcome:
        return self.mailer.send(self.compose(message))

    def compose(self, message: dict[str, Any]) -> EmailMessage:
        content = message["email"]
        # The same id on every attempt: a mail client shows a repeat as one message.
        return new_email(
            self.settings,
            message["address"],
            content["subject"],
            content["text"],
            content["html"],
            f"{message['_id']}@familyties.notifications",
        )

    def close(self) -> None:
        self.mailer.close()


class WebhookChannel:
    """Standard Webhooks: `webhook-id` (the message's id, the same on every attempt, so a
    receiver can drop repeats), `webhook-timestamp` and `webhook-signature`, signed by
    the standardwebhooks library with every current secret of the endpoint (two while a
    rotated one lasts), opened (backbone.sealing) only to sign."""

    def __init__(self, settings: Settings, endpoints, resolver: Resolver = system_resolver):
        self.settings = settings
        self.endpoints = endpoints  # the endpoints collection
        self.resolver = resolver
        self.sealer = Sealer.from_settings(settings)

    def send(self, message: dict[str, Any]) -> Outcome:
        endpoint = self.endpoints.find_one({"_id": message["address"]})
        if endpoint is None:
            return Outcome(False, error="the endpoint was removed")
        if endpoint["status"] != "active":
            return Outcome(False, error="the endpoint is disabled")
        body = message["webhook"]["body"]
        try:
            secrets = current_secrets(endpoint, self.sealer)
        except SealingError as error:
            # The data keys are wrong here (ops' to fix): tried again later, not sent unsigned.
            log.error("webhook not signed", extra={"endpoint_id": endpoint["_id"]})
            return Outcome(False, retryable=True, error=str(error))
        headers = {
            "content-type": "application/json",
            "user-agent": "FamilyTies-Webhooks/1",
            **signature_headers(message["_id"], body, secrets),
        }
        s = self.settings
        answer = webhook_client.post(
            endpoint["url"],
            body.encode(),
            headers,
            timeout=s.webhook_timeout_seconds,
            max_response_bytes=s.webhook_max_response_bytes,
            allow_private=s.webhook_allow_private_addresses,
            resolver=self.resolver,
        )
        return Outcome(
            delivered=answer.delivered,
            retryable=answer.retryable,
            status_code=answer.status,
            error=answer.error,
            retry_after_seconds=answer.retry_after_seconds,
            gone=answer.gone,
        )


def current_secrets(endpoint: dict[str, Any], sealer: Sealer) -> list[str]:
    """The endpoint's secrets that sign now, opened."""
    at = now()
    return [
        sealer.open(s["secret"])
        for s in endpoint["secrets"]
        if s.get("expires_at") is None or _aware(s["expires_at"]) > at
    ]


def signature_headers(message_id: str, body: str, secrets: list[str]) -> dict[str, str]:
    timestamp = datetime.now(UTC)
    signatures = [Webhook(secret).sign(message_id, timestamp, body) for secret in secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
