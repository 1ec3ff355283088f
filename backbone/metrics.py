"""Prometheus metrics.

A service's gunicorn processes share one /metrics through PROMETHEUS_MULTIPROC_DIR; its
worker serves its own on WORKER_METRICS_PORT (backbone.worker), under `make run` as in
containers, so a stopped worker shows as a target down.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from pymongo.errors import PyMongoError

from backbone.clock import now
from backbone.outbox import Backlog

disable_created_metrics()  # *_created series double the output and no dashboard uses them

HTTP_REQUESTS = Counter(
    "familyties_http_requests_total",
    "HTTP requests answered, by route and status.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "familyties_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """A request's method as a label: any other name a client invents is 'other', so
    clients cannot make new series without end."""
    return method if method in HTTP_METHODS else "other"


EVENTS_PUBLISHED = Counter(
    "familyties_events_published_total", "Events the outbox relay published to Kafka."
)
EVENTS_PUBLISH_FAILED = Counter(
    "familyties_events_publish_failed_total",
    "Attempts to publish an outbox event that failed; the event stays pending.",
)
EVENTS_CONSUMED = Counter(
    "familyties_events_consumed_total",
    "Events a consumer processed, including redeliveries it skipped.",
    ["group", "type", "outcome"],
)
# Counted once the dead-letter topic has the event, so this is the dead-lettered count.
EVENTS_FAILED = Counter(
    "familyties_events_failed_total",
    "Events a consumer could not process and sent to its dead-letter topic.",
    ["group", "type"],
)
BROKER_LOSSES = Counter(
    "familyties_broker_losses_total",
    "Times a relay found that the broker had lost events it confirmed, and republished.",
)
EVENT_AGE = Histogram(
    "familyties_event_age_seconds",
    "Time from an event being made to a consumer processing it.",
    ["group"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800),
)
# Set by each consumer as it polls; under PROMETHEUS_MULTIPROC_DIR the newest value wins.
CONSUMER_LAG = Gauge(
    "familyties_consumer_lag_events",
    "Events on a partition that the consumer group has not processed yet.",
    ["group", "topic", "partition"],
    multiprocess_mode="mostrecent",
)
CONSUMER_OLDEST_UNPROCESSED_AGE = Gauge(
    "familyties_consumer_oldest_unprocessed_age_seconds",
    "Age of the oldest event on a partition that the group has not processed (0: none).",
    ["group", "topic", "partition"],
    multiprocess_mode="mostrecent",
)
# Under PROMETHEUS_MULTIPROC_DIR the newest value wins: a worker that was restarted
# replaces its predecessor's, and one that died leaves its last, which then ages.
WORKER_LAST_LOOP = Gauge(
    "familyties_worker_last_loop_timestamp_seconds",
    "Unix time a worker task last finished a loop of its work (until its first, when the "
    "worker started): a task that stopped looping is hung.",
    ["service", "task"],
    multiprocess_mode="mostrecent",
)
_worker_task: ContextVar[tuple[str, str] | None] = ContextVar("worker_task", default=None)


def worker_task_started(service: str, task: str) -> None:
    """This thread runs `task` of `service`'s worker: `loop_done` counts for it."""
    _worker_task.set((service, task))


def loop_done() -> None:
    """The worker task of this thread finished a loop of its work (a poll of its consumer,
    a batch of its relay, ...); outside a worker's task threads, nothing."""
    task = _worker_task.get()
    if task is not None:
        WORKER_LAST_LOOP.labels(*task).set_to_current_time()


class OutboxBacklog:
    """Gauges read at scrape time: how many events wait in the outbox, and how long the
    oldest of them has waited."""

    def __init__(self, backlog: Callable[[], Backlog]) -> None:
        self.backlog = backlog

    def collect(self):
        try:
            count, oldest = self.backlog()
        except PyMongoError:
            return  # the database is away: /readyz says so; the other metrics still answer
        waiting = GaugeMetricFamily(
            "familyties_outbox_backlog_events", "Events written but not yet published."
        )
        waiting.add_metric([], count)
        age = GaugeMetricFamily(
            "familyties_outbox_oldest_event_age_seconds",
            "How long the oldest event not yet published has waited (0: none waits).",
        )
        age.add_metric([], (now() - oldest).total_seconds() if oldest else 0)
        yield waiting
        yield age


class DatabaseGauge:
    """A gauge computed from the service's own database at each scrape by `read`: its value,
    or with `label`, its value for each of that label's `values` (a fixed vocabulary, so the
    series stay few; 0 where `read` counted none). While the database is away the gauge is
    absent, as OutboxBacklog's."""

    def __init__(
        self,
        name: str,
        documentation: str,
        read: Callable[[], float | Mapping[str, float]],
        label: str | None = None,
        values: Iterable[str] = (),
    ) -> None:
        self.name, self.documentation, self.read = name, documentation, read
        self.label, self.values = label, list(values)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            value = self.read()
        except PyMongoError:
            return
        if self.label is None:
            yield GaugeMetricFamily(self.name, self.documentation, value=value)
            return
        family = GaugeMetricFamily(self.name, self.documentation, labels=[self.label])
        for key in self.values:
            family.add_metric([key], value.get(key, 0))
        yield family


def registry() -> CollectorRegistry:
    """This process's metrics or, under PROMETHEUS_MULTIPROC_DIR, all its service's."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined)
    return combined


def exposition(extra: CollectorRegistry | None = None) -> bytes:
    """The text of /metrics, with `extra` (metrics read at scrape time) appended."""
    text = generate_latest(registry())
    return text + generate_latest(extra) if extra is not None else text
