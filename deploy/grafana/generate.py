"""Writes the Grafana dashboards in deploy/grafana/dashboards/ (grafana-foundation-sdk).

    .venv/bin/python deploy/grafana/generate.py          # after changing a dashboard here
    .venv/bin/python deploy/grafana/generate.py --check  # make test: the files are current

Every query reads the Prometheus datasource whose uid is `prometheus`, and the labels the
monitoring gives each target (deploy/prometheus/rules/familyties.yml says which).
"""

from __future__ import annotations

import sys
from pathlib import Path

from grafana_foundation_sdk.builders import bargauge, dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.builders.common import ReduceDataOptions
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    ValueMap,
    ValueMappingResult,
)

DASHBOARDS = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="prometheus")
# Health checks and scrapes are not the users' requests.
USERS = 'route!~"/metrics|/healthz|/readyz"'
SERVER_ERRORS = f'status=~"5..", {USERS}'
UP_DOWN = [
    ValueMap(
        {
            "0": ValueMappingResult(text="down", color="red"),
            "1": ValueMappingResult(text="up", color="green"),
        }
    )
]

Panel = timeseries.Panel | stat.Panel | bargauge.Panel


class Board:
    """A dashboard being built: panels get ids, datasource and queries in order."""

    def __init__(self, uid: str, title: str, description: str) -> None:
        self.next_id = 1
        self.builder = (
            dashboard.Dashboard(title)
            .uid(uid)
            .description(description)
            .tags(["familyties"])
            .time("now-3h", "now")
            .refresh("30s")
            .timezone("browser")
        )

    def row(self, title: str) -> None:
        self.builder.with_row(dashboard.Row(title).id(self._id()))

    def add(self, panel: Panel, *queries: tuple[str, str], width: int = 8) -> None:
        """`queries`: (PromQL, legend) each."""
        for ref, (expr, legend) in zip("ABCDEFGH", queries, strict=False):
            query = prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref)
            panel.with_target(query.datasource(DATASOURCE))
        self.builder.with_panel(panel.id(self._id()).datasource(DATASOURCE).span(width).height(8))

    def json(self) -> str:
        return JSONEncoder(sort_keys=True, indent=2).encode(self.builder.build()) + "\n"

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def graph(title: str, unit: str, description: str) -> timeseries.Panel:
    return timeseries.Panel().title(title).unit(unit).description(description)


def figure(title: str, description: str, unit: str = "short") -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
    )


def rate(metric: str, by: str, selector: str = "") -> str:
    """Per second, summed by the labels `by`, over Grafana's window for the scrape interval."""
    series = f"{metric}{{{selector}}}" if selector else metric
    return f"sum by ({by}) (rate({series}[$__rate_interval]))"


def overview() -> Board:
    board = Board(
        "familyties-overview",
        "Family Ties: overview",
        "Every service's processes, readiness, requests, errors and response times.",
    )
    board.row("Processes")
    board.add(
        figure("Web processes", "Whether Prometheus reaches each web process.").mappings(UP_DOWN),
        ('up{job="web"}', "{{service}}"),
    )
    board.add(
        figure("Workers", "Whether Prometheus reaches each worker process.").mappings(UP_DOWN),
        ('up{job="worker"}', "{{service}}"),
    )
    board.add(
        figure(
            "Readiness",
            "Each service's /readyz: whether it reaches its database and the broker.",
        ).mappings(UP_DOWN),
        ('probe_success{job="readiness"}', "{{service}} {{dependency}}"),
    )
    board.add(
        graph(
            "Time since each worker task's last loop",
            "s",
            "A task that stops looping is hung or keeps failing (WorkerTaskStalled).",
        ),
        (
            "time() - max by (service, task) (familyties_worker_last_loop_timestamp_seconds)",
            "{{service}} {{task}}",
        ),
        width=24,
    )
    board.row("Requests")
    board.add(
        graph("Requests per second", "reqps", "Requests answered, health checks aside."),
        (rate("familyties_http_requests_total", "service", USERS), "{{service}}"),
    )
    board.add(
        graph(
            "Server errors",
            "percentunit",
            "The share of requests answered with a 5xx (HighErrorRatio above 5%).",
        ),
        (
            f"{rate('familyties_http_requests_total', 'service', SERVER_ERRORS)}"
            f" / {rate('familyties_http_requests_total', 'service', USERS)}",
            "{{service}}",
        ),
    )
    board.add(
        graph(
            "95th percentile response time",
            "s",
            "One request in twenty takes longer than this (HighLatency above 1 s).",
        ),
        (
            "histogram_quantile(0.95, "
            f"{rate('familyties_http_request_duration_seconds_bucket', 'service, le', USERS)})",
            "{{service}}",
        ),
    )
    board.add(
        graph("Responses per second by status", "reqps", "Every service's answers, by status."),
        (rate("familyties_http_requests_total", "status", USERS), "{{status}}"),
        width=24,
    )
    return board


def event_flow() -> Board:
    board = Board(
        "familyties-event-flow",
        "Family Ties: event flow",
        "Events from each service's outbox to the broker, and on to each consumer group.",
    )
    board.row("Publishing (each service's outbox relay)")
    board.add(
        graph("Events published per second", "ops", "Events the outbox relays published."),
        (rate("familyties_events_published_total", "service"), "{{service}}"),
    )
    board.add(
        graph("Outbox backlog", "short", "Events saved but not yet published."),
        ("max by (service) (familyties_outbox_backlog_events)", "{{service}}"),
    )
    board.add(
        graph(
            "Oldest unpublished event",
            "s",
            "How long the oldest event in each outbox has waited (OutboxEventTooOld: 5 min).",
        ),
        ("max by (service) (familyties_outbox_oldest_event_age_seconds)", "{{service}}"),
    )
    board.add(
        graph(
            "Publish failures per second",
            "ops",
            "Attempts to publish that failed; the events stay in the outbox.",
        ),
        (rate("familyties_events_publish_failed_total", "service"), "{{service}}"),
        (
            "sum by (service) (increase(familyties_broker_losses_total[$__rate_interval]))",
            "{{service}}: broker lost its log",
        ),
        width=24,
    )
    board.row("Consuming (each consumer group)")
    board.add(
        graph(
            "Events consumed per second",
            "ops",
            "Events each group processed, by outcome (redeliveries skipped included).",
        ),
        (rate("familyties_events_consumed_total", "group, outcome"), "{{group}} {{outcome}}"),
    )
    board.add(
        graph(
            "Consumer lag",
            "short",
            "Events on each topic the group has not processed yet (ConsumerLagHigh: 100).",
        ),
        ("sum by (group, topic) (familyties_consumer_lag_events)", "{{group}} ← {{topic}}"),
    )
    board.add(
        graph(
            "Event age when processed (95th percentile)",
            "s",
            "From an event being made to its consumer processing it.",
        ),
        (
            f"histogram_quantile(0.95, {rate('familyties_event_age_seconds_bucket', 'group, le')})",
            "{{group}}",
        ),
    )
    board.add(
        graph(
            "Oldest unprocessed event",
            "s",
            "How long the oldest event each group has not processed has waited "
            "(EventAgeHigh: 5 min).",
        ),
        ("max by (group) (familyties_consumer_oldest_unprocessed_age_seconds)", "{{group}}"),
    )
    board.row("Dead letters")
    board.add(
        graph(
            "Events dead-lettered per second",
            "ops",
            "Events a consumer could not process and set aside on its dead-letter topic.",
        ),
        (rate("familyties_events_failed_total", "group, type"), "{{group}} {{type}}"),
    )
    board.add(
        figure(
            "Dead-lettered since each worker started",
            "By consumer group and event type: docs/operations.md says how to deal with them.",
        ),
        ("sum by (group, type) (familyties_events_failed_total)", "{{group}} {{type}}"),
        width=16,
    )
    return board


def work() -> Board:
    board = Board(
        "familyties-work",
        "Family Ties: the service's work",
        "Referrals, cases waiting and notifications, from the services' own data.",
    )
    board.row("Referrals and cases")
    board.add(
        bargauge.Panel()
        .title("Referrals received this month, by referring team")
        .description("Intake's count for the calendar month so far.")
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"])),
        ("max by (team) (familyties_referrals_received_this_month)", "{{team}}"),
    )
    board.add(
        bargauge.Panel()
        .title("Referrals withdrawn this month, by referring team")
        .description("Withdrawn by their referrers this calendar month (intake's count).")
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"])),
        ("max by (team) (familyties_referrals_withdrawn_this_month)", "{{team}}"),
    )
    board.add(
        figure("Cases waiting for a coordinator", "Open cases not yet allocated."),
        ("max(familyties_cases_waiting_for_coordinator)", "waiting"),
    )
    board.add(
        figure(
            "Waiting more than 5 working days for a first contact",
            "Cases whose family has not been contacted 5 working days after the referral "
            "(ReferralsWaitingForFirstContact).",
        ),
        ("max(familyties_cases_waiting_first_contact_too_long)", "too long"),
    )
    board.add(
        graph("Cases waiting", "short", "Waiting for a coordinator, and for a first contact."),
        ("max(familyties_cases_waiting_for_coordinator)", "for a coordinator"),
        ("max(familyties_cases_waiting_first_contact_too_long)", "over 5 days for contact"),
    )
    board.add(
        graph(
            "Working days from referral to first contact",
            "d",
            "Median and 90th percentile, from reporting's figures.",
        ),
        (
            "max by (quantile) (familyties_first_contact_working_days)",
            "{{quantile}} quantile",
        ),
        width=16,
    )
    board.row("Notifications")
    board.add(
        graph(
            "Messages per hour",
            "short",
            "Emails and webhooks that reached a final status, by channel and status.",
        ),
        (
            f"{rate('familyties_notifications_messages_total', 'channel, status')} * 3600",
            "{{channel}} {{status}}",
        ),
    )
    board.add(
        figure(
            "Failed in the last day",
            "Messages given up as failed (NotificationsFailing).",
        ),
        ("max by (channel) (familyties_notifications_failed_last_day)", "{{channel}}"),
    )
    board.add(
        graph(
            "Oldest message waiting to be sent",
            "s",
            "How long the oldest message not yet sent has waited (NotificationsDelayed: 15 min).",
        ),
        ("max(familyties_notifications_oldest_queued_age_seconds)", "oldest"),
    )
    return board


def main(check: bool) -> int:
    stale = []
    for name, board in [("overview", overview), ("event-flow", event_flow), ("work", work)]:
        path = DASHBOARDS / f"{name}.json"
        text = board().json()
        if check and (not path.exists() or path.read_text() != text):
            stale.append(path.name)
        elif not check:
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)}; run .venv/bin/python deploy/grafana/generate.py")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
