"""A real HTTP server on 127.0.0.1 that takes webhooks as a partner's system would: it
keeps every call (headers and body) and answers what the test scripted."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.time)  # when it arrived (epoch s)


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    calls: list[Call] = field(default_factory=list)
    # Per path, the statuses to answer in turn; then `default`.
    script: dict[str, list[int]] = field(default_factory=dict)
    default: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def calls_to(self, path: str) -> list[Call]:
        with self.lock:
            return [call for call in self.calls if call.path == path]

    def answer_for(self, path: str) -> int:
        with self.lock:
            planned = self.script.get(path)
            return planned.pop(0) if planned else self.default


def start() -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.lock:
                receiver.calls.append(Call(self.path, dict(self.headers.items()), body))
            status = receiver.answer_for(self.path)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:  # quiet: pytest shows failures
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
