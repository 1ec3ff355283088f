"""Notifications' metrics: messages by channel and status, retries, and (read at scrape
time) how long the oldest queued message has waited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from pymongo.errors import PyMongoError

from backbone.clock import now

MESSAGES = Counter(
    "familyties_notifications_messages_total",
    "Messages that reached a final status, by channel and status.",
    ["channel", "status"],
)
RETRIES = Counter(
    "familyties_notifications_retries_total",
    "Failed attempts that will be tried again, by channel.",
    ["channel"],
)


class OldestQueued:
    def __init__(self, oldest: Callable[[], datetime | None]) -> None:
        self.oldest = oldest

    def collect(self):
        try:
            oldest = self.oldest()
        except PyMongoError:
            return
        age = GaugeMetricFamily(
            "familyties_notifications_oldest_queued_age_seconds",
            "How long the oldest message not yet sent has waited (0: none waits).",
        )
        age.add_metric([], (now() - oldest).total_seconds() if oldest else 0)
        yield age
