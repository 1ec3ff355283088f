"""The two ways a message goes out: email over SMTP, and Standard Webhooks to partners'
endpoints. Each answers an Outcome and never raises for a failed send."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

from backbone.clock import now
from backbone.settings import Settings
from services.notifications import webhook_client
from services.notifications.address_guard import Resolver, system_resolver


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    retryable: bool = False
    status_code: int | None = None
    error: str | None = None
    retry_after_seconds: float | None = None
    gone: bool = False  # the endpoint says it is gone for good (410)


class EmailChannel:
    """SMTP with STARTTLS, implicit TLS or neither, and a login when configured. Each
    sending thread keeps its connection open between messages."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._local = threading.local()

    def send(self, message: dict[str, Any]) -> Outcome:
        email = self.compose(message)
        for attempt in (1, 2):  # a connection the server closed while idle: one more try
            try:
                self._connection().send_message(email)
                return Outcome(delivered=True, status_code=250)
            except smtplib.SMTPServerDisconnected as error:
                self._drop()
                if attempt == 2:
                    return Outcome(False, retryable=True, error=f"disconnected: {error}"[:200])
            except smtplib.SMTPRecipientsRefused as error:
                self._drop()
                code = min(code for code, _ in error.recipients.values())
                return _smtp_refusal(code, "recipient refused")
            except smtplib.SMTPResponseException as error:
                self._drop()
                return _smtp_refusal(error.smtp_code, type(error).__name__)
            except (OSError, smtplib.SMTPException) as error:
                self._drop()
                return Outcome(False, retryable=True, error=f"{type(error).__name__}"[:200])
        raise AssertionError("unreachable")

    def compose(self, message: dict[str, Any]) -> EmailMessage:
        content = message["email"]
        email = EmailMessage()
        email["From"] = self.settings.mail_from
        email["To"] = message["address"]
        email["Subject"] = content["subject"]
        email["Date"] = format_datetime(datetime.now(UTC))
        # The same id on every attempt: a mail client shows a repeat as one message.
        email["Message-ID"] = f"<{message['_id']}@familyties.notifications>"
        email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
        email.set_content(content["text"])
        email.add_alternative(content["html"], subtype="html")
        return email

    def close(self) -> None:
        self._drop()

    def _connection(self) -> smtplib.SMTP:
        connection = getattr(self._local, "smtp", None)
        if connection is None:
            s = self.settings
            context = ssl.create_default_context()
            if s.smtp_security == "tls":
                connection = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds, context=context
                )
            else:
                connection = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds)
                if s.smtp_security == "starttls":
                    connection.starttls(context=context)
            if s.smtp_username and s.smtp_password:
                connection.login(s.smtp_username, s.smtp_password.reveal())
            self._local.smtp = connection
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "smtp", None)
        self._local.smtp = None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()


def _smtp_refusal(code: int, what: str) -> Outcome:
    # 4xx: try again later (a full mailbox, greylisting); 5xx: this message will not go.
    return Outcome(False, retryable=400 <= code < 500, status_code=code, error=f"{what} ({code})")


class WebhookChannel:
    """Standard Webhooks: `webhook-id` (the message's id, the same on every attempt, so a
    receiver can drop repeats), `webhook-timestamp` and `webhook-signature`, signed by
    the standardwebhooks library with every current secret of the endpoint (two while a
    rotated one lasts)."""

    def __init__(self, settings: Settings, endpoints, resolver: Resolver = system_resolver):
        self.settings = settings
        self.endpoints = endpoints  # the endpoints collection
        self.resolver = resolver

    def send(self, message: dict[str, Any]) -> Outcome:
        endpoint = self.endpoints.find_one({"_id": message["address"]})
        if endpoint is None:
            return Outcome(False, error="the endpoint was removed")
        if endpoint["status"] != "active":
            return Outcome(False, error="the endpoint is disabled")
        body = message["webhook"]["body"]
        headers = {
            "content-type": "application/json",
            "user-agent": "FamilyTies-Webhooks/1",
            **signature_headers(message["_id"], body, current_secrets(endpoint)),
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


def current_secrets(endpoint: dict[str, Any]) -> list[str]:
    at = now()
    return [
        s["secret"]
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
