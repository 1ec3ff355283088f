"""The webhook client against real HTTP servers on 127.0.0.1.

Every connection any test here makes is checked to go to 127.0.0.1: refusals of other
addresses are the guard's decisions, proven before any connection, never by sending.
"""

from __future__ import annotations

import contextlib
import email.utils
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3.util.connection

from services.notifications import webhook_client
from services.notifications.webhook_client import (
    ANSWER_TOO_LARGE,
    CERTIFICATE_NOT_TRUSTED,
    CONNECTION_REFUSED,
    NAME_NOT_RESOLVED,
    REDIRECT_NOT_FOLLOWED,
    TIMED_OUT,
    Answer,
    Connections,
    parse_retry_after,
)

BODY = b'{"type": "referral.accepted", "data": {"referral_id": "r-1"}}'


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records what it is sent and answers as told."""

    answer: Callable[[BaseHTTPRequestHandler], None]
    requests: list[Seen] = field(default_factory=list)
    connections: int = 0
    server_names: list[str | None] = field(default_factory=list)  # TLS SNI
    written: int = 0  # body bytes an endless answer managed to send
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    def url(self, path: str = "/hook", host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


@contextlib.contextmanager
def serving(
    answer: Callable[[BaseHTTPRequestHandler], None], tls: ssl.SSLContext | None = None
) -> Iterator[Receiver]:
    receiver = Receiver(answer)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse shows

        def setup(self) -> None:
            receiver.connections += 1
            super().setup()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            receiver.requests.append(
                Seen("POST", self.path, dict(self.headers.items()), self.rfile.read(length))
            )
            receiver.answer(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        tls.sni_callback = lambda _sock, name, _context: receiver.server_names.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    receiver.server = server
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def respond(
    status: int, headers: dict[str, str] | None = None, body: bytes = b"ok"
) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


@pytest.fixture(autouse=True)
def only_127_0_0_1(monkeypatch) -> list[tuple[str, int]]:
    """Record every connection the client makes, and fail any not to 127.0.0.1."""
    made: list[tuple[str, int]] = []
    original = urllib3.util.connection.create_connection

    def create_connection(address, *args, **kwargs):
        made.append(address)
        assert address[0] == "127.0.0.1", f"a test tried to connect to {address}"
        return original(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return made


@pytest.fixture
def connections() -> Iterator[Connections]:
    pool = Connections()
    yield pool
    pool.close()


def resolver(table: dict[str, str]):
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        if host not in table:
            raise socket.gaierror(f"{host} not in the table")
        return [table[host]]

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


def send(url: str, connections: Connections, **overrides) -> Answer:
    options = {
        "timeout": 2.0,
        "max_response_bytes": 64 * 1024,
        "allow_private": True,
        "pool": connections,
    }
    options.update(overrides)
    return webhook_client.post(url, BODY, {"Content-Type": "application/json"}, **options)


def test_a_2xx_is_delivered(connections):
    with serving(respond(204, body=b"")) as receiver:
        answer = send(receiver.url("/hook?partner=7"), connections)
    assert (answer.status, answer.error) == (204, None)
    assert answer.delivered and not answer.retryable and not answer.gone
    assert 0 <= answer.seconds < 2
    [seen] = receiver.requests
    assert (seen.path, seen.body) == ("/hook?partner=7", BODY)
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_the_client_sets_host_and_framing_itself(connections):
    with serving(respond(200)) as receiver:
        answer = webhook_client.post(
            receiver.url(),
            BODY,
            {"Host": "elsewhere.example", "Content-Length": "1", "X-Signature": "v1,abc"},
            timeout=2.0,
            max_response_bytes=1024,
            allow_private=True,
            pool=connections,
        )
    assert answer.delivered
    [seen] = receiver.requests
    assert seen.headers["Host"] == f"127.0.0.1:{receiver.port}"
    assert seen.headers["Content-Length"] == str(len(BODY))
    assert (seen.headers["X-Signature"], seen.body) == ("v1,abc", BODY)


def test_connections_are_reused(connections):
    with serving(respond(200)) as receiver:
        answers = [send(receiver.url(), connections) for _ in range(5)]
    assert all(answer.delivered for answer in answers)
    assert (len(receiver.requests), receiver.connections) == (5, 1)


def test_concurrent_calls_share_the_pool_safely(connections):
    with serving(respond(200)) as receiver:
        answers: list[Answer] = []

        def many() -> None:
            answers.extend(send(receiver.url(), connections) for _ in range(20))

        threads = [threading.Thread(target=many) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(answers) == 80 and all(answer.delivered for answer in answers)
    assert receiver.connections <= 8


@pytest.mark.parametrize("status", [500, 502, 503, 408])
def test_server_errors_are_retried(connections, status):
    with serving(respond(status)) as receiver:
        answer = send(receiver.url(), connections)
    assert answer.status == status and answer.error is None
    assert answer.retryable and not answer.delivered and not answer.gone


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_client_errors_are_not_retried(connections, status):
    with serving(respond(status)) as receiver:
        answer = send(receiver.url(), connections)
    assert answer.status == status
    assert not answer.retryable and not answer.delivered and not answer.gone


def test_429_with_retry_after_in_seconds(connections):
    with serving(respond(429, {"Retry-After": "120"})) as receiver:
        answer = send(receiver.url(), connections)
    assert (answer.status, answer.retry_after_seconds) == (429, 120.0)
    assert answer.retryable


def test_429_with_retry_after_as_an_http_date(connections):
    later = email.utils.formatdate(time.time() + 60, usegmt=True)
    with serving(respond(429, {"Retry-After": later})) as receiver:
        answer = send(receiver.url(), connections)
    assert answer.status == 429 and answer.retryable
    assert answer.retry_after_seconds is not None and 55 <= answer.retry_after_seconds <= 60


def test_503_with_retry_after(connections):
    with serving(respond(503, {"Retry-After": "5"})) as receiver:
        answer = send(receiver.url(), connections)
    assert (answer.status, answer.retry_after_seconds, answer.retryable) == (503, 5.0, True)


def test_410_is_gone(connections):
    with serving(respond(410)) as receiver:
        answer = send(receiver.url(), connections)
    assert answer.gone and not answer.retryable and not answer.delivered


def test_a_redirect_is_not_followed_not_even_tried(connections, only_127_0_0_1):
    resolve = resolver({"partner.test": "127.0.0.1"})
    redirect = respond(302, {"Location": "http://10.0.0.1/"})
    with serving(redirect) as receiver:
        answer = send(receiver.url(host="partner.test"), connections, resolver=resolve)
    assert answer.status == 302 and answer.error == REDIRECT_NOT_FOLLOWED
    assert not answer.delivered and not answer.retryable
    assert len(receiver.requests) == 1
    assert only_127_0_0_1 == [("127.0.0.1", receiver.port)]
    assert resolve.asked == ["partner.test"]


def test_a_slow_receiver_times_out(connections):
    def slow(handler: BaseHTTPRequestHandler) -> None:
        receiver.release.wait(10)

    with serving(slow) as receiver:
        answer = send(receiver.url(), connections, timeout=0.5)
    assert answer.status is None and answer.error == TIMED_OUT and answer.retryable
    assert 0.4 <= answer.seconds < 1.5


def test_the_timeout_bounds_the_whole_call_not_each_read(connections):
    """A receiver sending its answer a byte at a time is cut off at the deadline."""

    def drip(handler: BaseHTTPRequestHandler) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 1000:
            if receiver.release.wait(0.05):
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()

    with serving(drip) as receiver:
        answer = send(receiver.url(), connections, timeout=0.6)
    assert answer.status is None and answer.error == TIMED_OUT and answer.retryable
    assert 0.5 <= answer.seconds < 1.5


def test_a_slow_answer_body_after_a_2xx_is_still_delivered(connections):
    def slow_body(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.write(b"partial")
        handler.wfile.flush()
        receiver.release.wait(10)

    with serving(slow_body) as receiver:
        answer = send(receiver.url(), connections, timeout=0.5)
    assert (answer.status, answer.error) == (200, TIMED_OUT)
    assert answer.delivered and not answer.retryable
    assert answer.seconds < 1.5


def test_a_huge_declared_answer_is_not_read(connections):
    def huge(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(1 << 30))
        handler.end_headers()
        with contextlib.suppress(OSError):
            while not receiver.release.is_set():
                handler.wfile.write(b"x" * 65536)
                receiver.written += 65536

    with serving(huge) as receiver:
        answer = send(receiver.url(), connections, max_response_bytes=1024)
        written = receiver.written
    assert (answer.status, answer.error) == (200, ANSWER_TOO_LARGE)
    assert answer.delivered and answer.seconds < 1.5
    assert written < 64 * 1024 * 1024  # socket buffers at most, not the gigabyte


def test_an_endless_answer_is_cut_at_the_limit(connections):
    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(500)
        handler.send_header("Connection", "close")  # no length: the body runs to the close
        handler.end_headers()
        with contextlib.suppress(OSError):
            while not receiver.release.is_set():
                handler.wfile.write(b"x" * 65536)
                receiver.written += 65536

    with serving(endless) as receiver:
        answer = send(receiver.url(), connections, max_response_bytes=100_000)
        written = receiver.written
    assert (answer.status, answer.error) == (500, ANSWER_TOO_LARGE)
    assert answer.retryable and answer.seconds < 1.5
    assert written < 64 * 1024 * 1024


def test_an_answer_at_the_limit_is_read_and_the_connection_reused(connections):
    with serving(respond(200, body=b"y" * 1000)) as receiver:
        answers = [send(receiver.url(), connections, max_response_bytes=1000) for _ in range(2)]
    assert [(a.status, a.error) for a in answers] == [(200, None), (200, None)]
    assert receiver.connections == 1


def test_127_0_0_1_is_refused_before_any_connection(connections, only_127_0_0_1):
    with serving(respond(200)) as receiver:
        over_https = send(receiver.url(scheme="https"), connections, allow_private=False)
        over_http = send(receiver.url(), connections, allow_private=False)
    assert over_https.status is None
    assert over_https.error == (
        "refused address: 127.0.0.1 is a loopback address: "
        "webhooks are sent only to public addresses"
    )
    assert over_http.error == "refused address: only https URLs are accepted, not http"
    for answer in (over_https, over_http):
        assert not answer.retryable and not answer.delivered
    assert (receiver.connections, receiver.requests, only_127_0_0_1) == (0, [], [])


def test_a_name_resolving_to_127_0_0_1_is_refused_before_any_connection(
    connections, only_127_0_0_1
):
    resolve = resolver({"partner.test": "127.0.0.1"})
    with serving(respond(200)) as receiver:
        answer = send(
            receiver.url(host="partner.test", scheme="https"),
            connections,
            allow_private=False,
            resolver=resolve,
        )
    assert answer.error is not None and "partner.test resolves to 127.0.0.1" in answer.error
    assert (receiver.connections, only_127_0_0_1) == (0, [])


def test_the_host_header_is_the_urls_host_name(connections, only_127_0_0_1):
    resolve = resolver({"partner.test": "127.0.0.1"})
    with serving(respond(200)) as receiver:
        answer = send(receiver.url(host="partner.test"), connections, resolver=resolve)
    assert answer.delivered
    assert receiver.requests[0].headers["Host"] == f"partner.test:{receiver.port}"
    assert only_127_0_0_1 == [("127.0.0.1", receiver.port)]


def test_a_closed_port_is_connection_refused(connections):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    answer = send(f"http://127.0.0.1:{port}/hook", connections)
    assert (answer.status, answer.error) == (None, CONNECTION_REFUSED)
    assert answer.retryable


def test_a_name_that_does_not_resolve(connections, only_127_0_0_1):
    answer = send("http://nowhere.test/hook", connections, resolver=resolver({}))
    assert (answer.status, answer.error, answer.retryable) == (None, NAME_NOT_RESOLVED, True)
    assert only_127_0_0_1 == []


# https: a certificate made for partner.test, which the injected resolver maps to 127.0.0.1.


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, tuple[str, str]]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    directory = tmp_path_factory.mktemp("certificates")
    made = {}
    for name in ("partner.test", "other.test"):
        cert, key = directory / f"{name}.pem", directory / f"{name}.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", f"/CN={name}",
             "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)],
            check=True,
            capture_output=True,
        )  # fmt: skip
        made[name] = (str(cert), str(key))
    return made


def tls_serving(certificates, name: str):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificates[name])
    return serving(respond(200), tls=context)


def test_https_goes_to_the_checked_address_with_sni_and_verification(certificates):
    resolve = resolver({"partner.test": "127.0.0.1"})
    trusting = Connections(ca_certs=certificates["partner.test"][0])
    try:
        with tls_serving(certificates, "partner.test") as receiver:
            answer = send(
                receiver.url(host="partner.test", scheme="https"), trusting, resolver=resolve
            )
    finally:
        trusting.close()
    assert (answer.status, answer.error) == (200, None)
    assert receiver.server_names == ["partner.test"]
    assert receiver.requests[0].headers["Host"] == f"partner.test:{receiver.port}"


def test_https_refuses_a_certificate_for_another_name(certificates):
    resolve = resolver({"partner.test": "127.0.0.1"})
    trusting = Connections(ca_certs=certificates["other.test"][0])
    try:
        with tls_serving(certificates, "other.test") as receiver:
            answer = send(
                receiver.url(host="partner.test", scheme="https"), trusting, resolver=resolve
            )
    finally:
        trusting.close()
    assert (answer.status, answer.error) == (None, CERTIFICATE_NOT_TRUSTED)
    assert receiver.requests == []


def test_https_refuses_a_certificate_no_authority_signed(certificates, connections):
    resolve = resolver({"partner.test": "127.0.0.1"})
    with tls_serving(certificates, "partner.test") as receiver:
        answer = send(
            receiver.url(host="partner.test", scheme="https"), connections, resolver=resolve
        )
    assert (answer.status, answer.error) == (None, CERTIFICATE_NOT_TRUSTED)
    assert answer.retryable  # a certificate is often renewed late, then fixed
    assert receiver.requests == []


# The answer's verdicts and Retry-After, without a server.


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        (" 30 ", 30.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: now
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after(value, seconds):
    assert parse_retry_after(value) == seconds


def test_retry_after_as_a_date_is_counted_from_now():
    now = 1_700_000_000.0
    later = email.utils.formatdate(now + 90, usegmt=True)
    assert parse_retry_after(later, now=now) == 90.0


def test_answers_without_a_status():
    refused = Answer(None, None, "refused address: 10.0.0.1 is a private address", 0.0)
    assert not refused.retryable and not refused.delivered
    assert Answer(None, None, TIMED_OUT, 5.0).retryable
    assert not Answer(301, None, REDIRECT_NOT_FOLLOWED, 0.1).retryable
