"""The sender: delivers recorded messages, one at a time per sending thread.

A message is recorded (queued) before anything is sent. To send it, a thread claims it:
marks it `sending`, with a new attempt and a lease, in one write. Then it sends, then it
records the outcome: delivered (and NotificationSent), a retry at a later time, or failed
(and NotificationFailed). A message whose lease ends while `sending` was interrupted (the
process was killed mid-send): it is sent again, with the same Message-ID or webhook-id.
So a crash can repeat the messages that were being sent at that instant, at most one per
sending thread, and never loses one (README: "What can still happen").
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from opentelemetry.trace import SpanKind

from backbone import tracing
from backbone.clock import now
from backbone.events.catalogue import source_of
from backbone.events.envelope import new_event
from backbone.metrics import loop_done
from backbone.settings import Settings
from services.notifications import SERVICE, metrics
from services.notifications.channels import EmailChannel, Outcome, WebhookChannel
from services.notifications.handlers import MessageMaker
from services.notifications.repository import DELIVERED, FAILED, QUEUED, Store
from services.notifications.rules import Intent

log = logging.getLogger(__name__)

MAX_DELAY_SECONDS = 6 * 3600.0
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0
SWEEP_SECONDS = 5.0


def next_delay(attempts: int, first: float, retry_after: float | None, rng: random.Random) -> float:
    """Seconds to wait after `attempts` failed attempts: exponential backoff with "equal
    jitter" (between half and all of first * 2^(attempts-1), capped at 6 hours), so
    delays grow and many failing messages spread out; a Retry-After the receiver asked
    for is honoured when it is longer (up to a day)."""
    ceiling = min(first * 2 ** (attempts - 1), MAX_DELAY_SECONDS)
    delay = rng.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return delay


class Sender:
    def __init__(
        self,
        store: Store,
        maker: MessageMaker,
        settings: Settings,
        email: EmailChannel | None = None,
        webhooks: WebhookChannel | None = None,
        clock: Callable[[], datetime] = now,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.maker = maker
        self.settings = settings
        self.channels = {
            "email": email or EmailChannel(settings),
            "webhook": webhooks or WebhookChannel(settings, store.endpoints),
        }
        self.clock = clock
        self.rng = rng or random.Random()
        # Longer than any one send can take, so a slow send is never taken for a crash.
        self.lease = timedelta(
            seconds=3 * max(settings.smtp_timeout_seconds, settings.webhook_timeout_seconds)
        )
        self.source = source_of(SERVICE)
        self._sweep_lock = threading.Lock()
        self._next_sweep = 0.0

    def run(self, stop: threading.Event, idle_seconds: float = 0.1) -> None:
        """One sending thread; the worker runs several on this one Sender."""
        try:
            while not stop.is_set():
                if not self.send_one():
                    stop.wait(idle_seconds)
                self.sweep()
                loop_done()
        finally:
            self.channels["email"].close()

    def sweep(self) -> None:
        """Take back interrupted sends and set stuck lanes going, every SWEEP_SECONDS, by
        whichever thread comes first."""
        with self._sweep_lock:
            if self.clock().timestamp() < self._next_sweep:
                return
            self._next_sweep = self.clock().timestamp() + SWEEP_SECONDS
        self.store.take_back_interrupted(self.clock())
        self.store.release_stuck_lanes()

    def send_one(self) -> bool:
        """Claim one due message and deliver it; False when none is due."""
        message = self.store.claim(self.clock(), self.lease)
        if message is None:
            return False
        if len(message["attempts"]) > 1 and "outcome" not in message["attempts"][-2]:
            message["attempts"][-2]["outcome"] = "interrupted"  # kept in the record below
        # In the trace of the event that made the message: NotificationSent carries it on.
        name = f"send {message['kind']}"
        with tracing.span(name, message.get("traceparent"), SpanKind.CLIENT):
            outcome = self.channels[message["channel"]].send(message)
            self.record(message, outcome)
        return True

    def record(self, message: dict[str, Any], outcome: Outcome) -> None:
        at = self.clock()
        attempts = message["attempts"]
        attempt = {
            **attempts[-1],
            "finished_at": at,
            "outcome": "delivered" if outcome.delivered else "failed",
            "status_code": outcome.status_code,
            "error": outcome.error,
        }
        attempts = [*attempts[:-1], attempt]
        channel = message["channel"]
        if outcome.delivered:
            metrics.MESSAGES.labels(channel, DELIVERED).inc()
            update = {"$set": {"status": DELIVERED, "attempts": attempts, "delivered_at": at}}
            self.store.finish(message, update, self._event("NotificationSent", message, attempts))
            log.info(
                "message delivered",
                extra={"message_id": message["_id"], "kind": message["kind"], "channel": channel},
            )
            return
        retry_at = at + timedelta(
            seconds=next_delay(
                len(attempts),
                self.settings.notification_first_retry_seconds,
                outcome.retry_after_seconds,
                self.rng,
            )
        )
        if outcome.retryable and not outcome.gone and retry_at < message["give_up_at"]:
            metrics.RETRIES.labels(channel).inc()
            update = {"$set": {"status": QUEUED, "attempts": attempts, "next_attempt_at": retry_at}}
            self.store.finish(message, update)
            return
        reason = _reason(outcome, gave_up=outcome.retryable and not outcome.gone)
        self.fail(message, attempts, reason)
        if channel == "webhook" and (outcome.gone or outcome.retryable):
            self.disable_endpoint(message["address"], reason)

    def fail(self, message: dict[str, Any], attempts: list[dict], reason: str) -> None:
        metrics.MESSAGES.labels(message["channel"], FAILED).inc()
        update = {"$set": {"status": FAILED, "attempts": attempts, "reason": reason}}
        event = self._event("NotificationFailed", message, attempts, reason=reason)
        self.store.finish(message, update, event)
        log.warning(
            "message failed",
            extra={"message_id": message["_id"], "kind": message["kind"], "reason": reason},
        )

    def disable_endpoint(self, endpoint_id: str, reason: str) -> None:
        """An endpoint that is gone, or failed for the whole retry period, is disabled; its
        partner is told by email, at the address it named."""
        at = self.clock()
        endpoint = self.store.endpoints.find_one_and_update(
            {"_id": endpoint_id, "status": "active"},
            {"$set": {"status": "disabled", "disabled_at": at, "disabled_reason": reason}},
        )
        if endpoint is None:  # already disabled, or removed
            return
        log.warning("webhook endpoint disabled", extra={"endpoint_id": endpoint_id})
        partner = self.store.partners.by_id(endpoint["partner_id"]) or {}
        address = partner.get("contact_email")
        if not address:
            log.warning("partner has no address to tell", extra={"endpoint_id": endpoint_id})
            return
        intent = Intent(
            "endpoint_disabled",
            "email",
            f"partner:{endpoint['partner_id']}",
            address,
            {
                "partner_name": partner.get("name", ""),
                "endpoint_url": endpoint["url"],
                "reason": reason,
            },
            partner_id=endpoint["partner_id"],
        )
        self.maker.record(f"disabled:{endpoint_id}:{at.isoformat()}", [intent])

    def _event(self, kind: str, message: dict, attempts: list, **extra: Any) -> dict:
        data = {
            "message_id": message["_id"],
            "cause_event_id": message["cause_event_id"],
            "kind": message["kind"],
            "channel": message["channel"],
            "recipient": message["recipient"],
            "referral_id": message.get("referral_id"),
            "attempts": len(attempts),
            "at": self.clock().isoformat(),
            **extra,
        }
        return new_event(kind, self.source, message["_id"], data)


def _reason(outcome: Outcome, gave_up: bool) -> str:
    said = outcome.error or (f"answered {outcome.status_code}" if outcome.status_code else "")
    if outcome.gone:
        return "The endpoint answered 410 Gone."
    if gave_up:
        return f"Not delivered within the retry period; last: {said}"[:500]
    return f"Refused: {said}"[:500]
