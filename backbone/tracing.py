"""Following one referral across the services: W3C trace context.

A request's `traceparent` header (a new trace where it has none, or a malformed one) is
the parent of the request's span. Every event made inside carries the current span as its
`traceparent` (the CloudEvents distributed-tracing extension); a consumer handles each
event in a span of its own, a child of the event's, so the events a handler makes carry
the same trace id with a new parent span id. Every log line carries the trace id
(backbone.logs), so one id finds a referral's lines in every service.

Spans leave the process only where a collector is configured, by the OpenTelemetry SDK's
own variables: OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), then
exported over OTLP/HTTP. Unset, as by default, nothing is sent anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import RandomIdGenerator, TracerProvider
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
EXPORT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

_PROPAGATOR = TraceContextTextMapPropagator()  # parses, checks and writes traceparent
_IDS = RandomIdGenerator()
# The SDK's provider even before `configure` (commands, tests): the API's no-op one would
# give a child span its parent's id, and a request without a traceparent no trace at all.
_tracer = TracerProvider().get_tracer(__name__)
_configured = False


def exporting(environ: Mapping[str, str]) -> bool:
    """Whether spans are to be exported: only where a collector is named."""
    return any(environ.get(name) for name in EXPORT_VARIABLES)


def configure(service: str, environ: Mapping[str, str] = os.environ) -> None:
    """Name this process's spans after its service, and export them over OTLP if a
    collector is configured. Once a process: later calls change nothing."""
    global _tracer, _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"familyties-{service}"}))
    if exporting(environ):
        # Imported only here: without a collector, the exporter is never loaded.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _tracer = provider.get_tracer(__name__)
    _configured = True


def _parent(traceparent: str | None) -> context.Context:
    """The context `traceparent` names; an empty one (so a new trace) if it is absent or
    malformed. Never raises: a bad header from a client costs it only its trace."""
    return _PROPAGATOR.extract({TRACEPARENT: traceparent} if traceparent else {})


@contextmanager
def span(name: str, traceparent: str | None, kind: SpanKind = SpanKind.INTERNAL) -> Iterator[None]:
    """A new span, current inside the block: a child of `traceparent`, or the root of a new
    trace. An exception marks it failed by its kind alone: its message might quote data."""
    with _tracer.start_as_current_span(
        name,
        context=_parent(traceparent),
        kind=kind,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield
        except BaseException as error:
            current.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise


@contextmanager
def joined(traceparent: str | None) -> Iterator[None]:
    """Inside, `traceparent` is the current context, with no span of our own: for log lines
    about an event that was made elsewhere (published by the relay, processed)."""
    token = context.attach(_parent(traceparent))
    try:
        yield
    finally:
        context.detach(token)


def describe_request(method: str, route: str, status: int) -> None:
    """Name the current (request's) span after its route template, and say how it ended."""
    current = trace.get_current_span()
    current.update_name(f"{method} {route}")
    current.set_attributes(
        {"http.request.method": method, "http.route": route, "http.response.status_code": status}
    )
    if status >= 500:
        current.set_status(Status(StatusCode.ERROR))


def traceparent() -> str:
    """The current span as a traceparent, for an event made now; outside any request or
    event (a command, a timer) the root of a new trace."""
    carrier: dict[str, str] = {}
    current = trace.get_current_span()
    if not current.get_span_context().is_valid:
        current = NonRecordingSpan(
            SpanContext(
                _IDS.generate_trace_id(),
                _IDS.generate_span_id(),
                is_remote=False,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )
        )
    _PROPAGATOR.inject(carrier, trace.set_span_in_context(current))
    return carrier[TRACEPARENT]


def trace_id() -> str | None:
    """The current trace's id, as a traceparent writes it; None outside any trace."""
    found = trace.get_current_span().get_span_context()
    return format(found.trace_id, "032x") if found.is_valid else None
