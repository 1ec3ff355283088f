"""Trace context: a request's or an event's traceparent continued, a malformed one replaced
by a new trace, and the trace id in every log line."""

from __future__ import annotations

import json
import logging

import pytest

from backbone import logs, tracing
from backbone.events.envelope import decode, encode, new_event
from tests.factories import referral_received_data

PARTNER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARTNER_PARENT = f"00-{PARTNER_TRACE}-00f067aa0ba902b7-01"


def parts(traceparent: str) -> tuple[str, str, str, str]:
    version, trace_id, span_id, flags = traceparent.split("-")
    return version, trace_id, span_id, flags


def received(subject: str = "r1") -> dict:
    return new_event("ReferralReceived", "/familyties/referral", subject, referral_received_data())


def test_inside_a_span_events_carry_its_trace_with_a_new_parent_span():
    with tracing.span("POST /v1/referrals", PARTNER_PARENT):
        assert tracing.trace_id() == PARTNER_TRACE
        made = tracing.traceparent()
    version, trace_id, span_id, _ = parts(made)
    assert (version, trace_id) == ("00", PARTNER_TRACE)
    assert span_id != "00f067aa0ba902b7"
    assert tracing.trace_id() is None  # the span ended with the block


@pytest.mark.parametrize(
    "malformed",
    [
        "garbage",
        "",
        f"00-{'0' * 32}-00f067aa0ba902b7-01",  # an all-zero trace id
        f"00-{PARTNER_TRACE}-{'0' * 16}-01",  # an all-zero parent id
        f"00-{PARTNER_TRACE.upper()}-00f067aa0ba902b7-01",  # upper case
        f"ff-{PARTNER_TRACE}-00f067aa0ba902b7-01",  # a forbidden version
        f"00-{PARTNER_TRACE}-00f067aa0ba902b7-01-extra",  # version 00 has four fields
        f"00-{PARTNER_TRACE}-00f067aa0ba902b7-01" + "0" * 600,
        None,
    ],
)
def test_a_malformed_or_missing_traceparent_starts_a_new_trace(malformed):
    with tracing.span("POST /v1/referrals", malformed):
        trace_id = tracing.trace_id()
        made = tracing.traceparent()
    assert trace_id is not None and trace_id != PARTNER_TRACE
    assert parts(made)[1] == trace_id


def test_outside_any_request_or_event_each_event_starts_a_trace_of_its_own():
    first, second = tracing.traceparent(), tracing.traceparent()
    assert parts(first)[1] != parts(second)[1]
    assert parts(first)[0] == "00" and parts(first)[3] == "01"


def test_joined_gives_log_lines_an_events_trace_without_a_span_of_its_own():
    with tracing.joined(PARTNER_PARENT):
        assert tracing.trace_id() == PARTNER_TRACE
        assert tracing.traceparent() == PARTNER_PARENT
    with tracing.joined("not a traceparent"):
        assert tracing.trace_id() is None


def test_an_event_carries_the_traceparent_of_where_it_was_made_and_keeps_it():
    with tracing.span("POST /v1/referrals", PARTNER_PARENT):
        envelope = received()
    assert parts(envelope["traceparent"])[1] == PARTNER_TRACE
    assert decode(encode(envelope)).traceparent == envelope["traceparent"]


def test_an_event_with_a_malformed_or_no_traceparent_is_still_processed():
    envelope = received()
    assert decode(encode({**envelope, "traceparent": "nonsense"})).traceparent == "nonsense"
    without = {k: v for k, v in envelope.items() if k != "traceparent"}
    assert decode(encode(without)).traceparent is None  # made before tracing


def test_a_failure_inside_a_span_is_raised_as_it_was():
    with pytest.raises(KeyError), tracing.span("process ReferralReceived", PARTNER_PARENT):
        raise KeyError("anything")


def test_spans_are_exported_only_where_a_collector_is_named():
    assert not tracing.exporting({})
    assert not tracing.exporting({"OTEL_EXPORTER_OTLP_ENDPOINT": ""})
    assert tracing.exporting({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert tracing.exporting({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318"})


def test_every_log_line_carries_the_trace_id(capsys):
    logs.configure("referral")
    log = logging.getLogger("familyties.test")
    with tracing.span("POST /v1/referrals", PARTNER_PARENT):
        log.info("inside a request")
    log.info("outside any")
    inside, outside = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert inside["trace_id"] == PARTNER_TRACE
    assert outside["trace_id"] is None
