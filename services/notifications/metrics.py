"""Notifications' metrics: messages by channel and status, retries, and (read at scrape
time) how long the oldest queued message has waited, and the failures of the last day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from pymongo.errors import PyMongoError

from backbone.clock import now
from backbone.metrics import DatabaseGauge

MESSAGES = Counter(
    "familyties_notifications_messages_total",
    "Messages that reached a final status, by channel and status.",
    ["channel", "status"],
)
CHANNELS = ("email", "webhook")  # services.notifications.channels
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


def failed_last_day(failed_by_channel: Callable[[datetime], dict[str, int]]) -> DatabaseGauge:
    return DatabaseGauge(
        "familyties_notifications_failed_last_day",
        "Messages made in the last 24 hours that failed for good, by channel.",
        lambda: failed_by_channel(now() - timedelta(days=1)),
        label="channel",
        values=CHANNELS,
    )
