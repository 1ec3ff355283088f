"""OTLP export: spans reach a collector named by OTEL_EXPORTER_OTLP_ENDPOINT, and without
one the exporter is never even loaded. A process of its own each time: tracing is
configured once a process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PROCESS = f"""
import sys
from backbone import tracing
tracing.configure("referral")
with tracing.span("POST /v1/referrals", "00-{TRACE_ID}-00f067aa0ba902b7-01"):
    pass
print("loaded" if "opentelemetry.exporter.otlp.proto.http" in sys.modules else "not loaded")
"""


def run_process(**environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")} | environment
    done = subprocess.run(
        [sys.executable, "-c", PROCESS], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Collector.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_) -> None:
        pass


def test_spans_are_exported_to_the_collector_named_and_carry_the_trace_and_service():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        assert run_process(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint) == "loaded"
    finally:
        server.shutdown()
        server.server_close()
    [(path, body)] = Collector.received  # sent as the process ended
    assert path == "/v1/traces"
    request = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = request.resource_spans
    attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert attributes["service.name"] == "familyties-referral"
    [span] = [s for scope in resource_spans.scope_spans for s in scope.spans]
    assert span.name == "POST /v1/referrals"
    assert span.trace_id.hex() == TRACE_ID


def test_without_a_collector_the_exporter_is_not_loaded():
    assert run_process() == "not loaded"
