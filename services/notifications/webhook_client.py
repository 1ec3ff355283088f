"""The HTTP client that posts webhooks to partners' endpoints, safely.

- It connects only to the addresses address_guard checked, by IP (no second DNS lookup,
  so DNS rebinding cannot swap in a private address), sending the URL's host name as the
  Host header and, for https, as TLS SNI and the name the certificate must match.
- It never follows a redirect: a 3xx is the answer, and a partner's configuration error
  (not retried), since following it would go to a URL nobody checked.
- `timeout` bounds the whole call, connect to last byte: a receiver that sends its answer
  one byte at a time is cut off at the deadline, not after every byte's read timeout.
- It reads at most `max_response_bytes` of the answer, undecoded (no decompression bomb).
- Network failures become Answer.error, never exceptions.
- Connections are kept for reuse per (scheme, address, port, host name), thread-safely.
"""

from __future__ import annotations

import contextlib
import email.utils
import heapq
import http.client
import itertools
import math
import os
import socket
import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.response import BaseHTTPResponse
from urllib3.util.ssl_match_hostname import CertificateError

from services.notifications.address_guard import (
    RefusedAddress,
    Resolver,
    Target,
    addresses_for,
    parse_target,
    system_resolver,
)

# Answer.error's words.
TIMED_OUT = "timed out"
CONNECTION_REFUSED = "connection refused"
CONNECTION_FAILED = "connection failed"
CONNECTION_CLOSED = "connection closed before the answer"
NAME_NOT_RESOLVED = "name not resolved"
CERTIFICATE_NOT_TRUSTED = "certificate not trusted"
TLS_FAILED = "TLS handshake failed"
BAD_ANSWER = "not an HTTP answer"
REDIRECT_NOT_FOLLOWED = "redirect not followed"
ANSWER_TOO_LARGE = "answer too large"
REFUSED = "refused address: "

_RETRYABLE_STATUSES = frozenset({408, 429})
_READ_CHUNK = 16 * 1024
# Headers the client sets itself: the Host the URL names, and the body's framing.
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding"})
_NETWORK_ERRORS = (HTTPError, OSError, http.client.HTTPException)


@dataclass(frozen=True)
class Answer:
    """What came of one webhook call.

    When `status` is set it decides: a 2xx is delivered even if reading the rest of the
    answer failed or it was too large (`error` then says so), since the partner took the
    message. Without a status, `error` says why.
    """

    status: int | None
    retry_after_seconds: float | None
    error: str | None
    seconds: float

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """410: the partner says the endpoint is gone for good."""
        return self.status == 410

    @property
    def retryable(self) -> bool:
        """Worth trying again later: no answer (but not a refused address), 5xx, 408, 429.

        Other 4xx and 3xx are the partner's definite answer or configuration error.
        """
        if self.status is None:
            return self.error is not None and not self.error.startswith(REFUSED)
        return self.status in _RETRYABLE_STATUSES or self.status >= 500


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    max_response_bytes: int,
    allow_private: bool,
    resolver: Resolver = system_resolver,
    pool: Connections | None = None,
) -> Answer:
    """POST `body` to a partner's webhook URL; never raises for network errors.

    `headers` are sent as given, except Host, Content-Length and Transfer-Encoding, which
    the client sets. `timeout` bounds the whole call from connecting to the answer's last
    byte (the system resolver's lookup of the name is not bounded by it). `pool` keeps
    connections for reuse; without it a process-wide one is used.
    """
    started = time.monotonic()
    deadline = started + timeout
    connections = pool if pool is not None else _default_connections
    try:
        target = parse_target(url, allow_private)
        addresses = addresses_for(target, allow_private, resolver)
    except RefusedAddress as refused:
        return _answer(started, _Outcome(error=f"{REFUSED}{refused}"))
    except OSError:
        return _answer(started, _Outcome(error=NAME_NOT_RESOLVED))
    sent_headers = {k: v for k, v in headers.items() if k.lower() not in _OWN_HEADERS}
    sent_headers["Host"] = target.host_header
    outcome = _Outcome(error=CONNECTION_FAILED)
    for address in addresses:
        if time.monotonic() >= deadline:
            outcome = _Outcome(error=TIMED_OUT)
            break
        outcome = _call(
            connections, target, address, body, sent_headers, deadline, max_response_bytes
        )
        # The next address is tried only when this one took no connection: nothing can
        # have been delivered, so nothing is delivered twice.
        if outcome.connected:
            break
    return _answer(started, outcome)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        seconds = float(value)
        return seconds if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" reads as naive; HTTP-dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Connections:
    """Connections kept for reuse, a pool per (scheme, address, port, host name).

    Thread-safe; at most `max_hosts` pools are kept (the least recently used is closed),
    each keeping at most `per_host` idle connections. `ca_certs` replaces the system's
    certificate authorities (a file of PEM certificates), for a private CA or tests.
    """

    def __init__(
        self, *, max_hosts: int = 64, per_host: int = 8, ca_certs: str | None = None
    ) -> None:
        self._max_hosts = max_hosts
        self._per_host = per_host
        self._ca_certs = ca_certs
        self._lock = threading.Lock()
        self._pools: OrderedDict[tuple[str, str, int, str], HTTPConnectionPool] = OrderedDict()

    def pool_for(self, target: Target, address: str) -> HTTPConnectionPool:
        key = (target.scheme, address, target.port, target.hostname)
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            pool = self._new_pool(target, address)
            self._pools[key] = pool
            if len(self._pools) > self._max_hosts:
                _, evicted = self._pools.popitem(last=False)
                evicted.close()  # idle connections now; ones in use close when released
            return pool

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()

    def _new_pool(self, target: Target, address: str) -> HTTPConnectionPool:
        common: dict[str, Any] = {"maxsize": self._per_host, "block": False, "retries": False}
        if target.scheme == "http":
            return _HTTPPool(address, target.port, **common)
        # Connect to the checked address; SNI and the certificate's name are the URL's host.
        return _HTTPSPool(
            address,
            target.port,
            cert_reqs="CERT_REQUIRED",
            ca_certs=self._ca_certs,
            server_hostname=target.hostname,
            **common,
        )


@dataclass(frozen=True)
class _Outcome:
    status: int | None = None
    retry_after_seconds: float | None = None
    error: str | None = None
    connected: bool = False  # a connection was made: the request may have been sent


def _answer(started: float, outcome: _Outcome) -> Answer:
    return Answer(
        status=outcome.status,
        retry_after_seconds=outcome.retry_after_seconds,
        error=outcome.error,
        seconds=time.monotonic() - started,
    )


def _call(
    connections: Connections,
    target: Target,
    address: str,
    body: bytes,
    headers: dict[str, str],
    deadline: float,
    max_response_bytes: int,
) -> _Outcome:
    call = _Call(deadline)
    _watchdog.watch(call)
    _current.call = call
    try:
        return _exchange(connections, target, address, body, headers, call, max_response_bytes)
    finally:
        _current.call = None
        call.finish()


def _exchange(
    connections: Connections,
    target: Target,
    address: str,
    body: bytes,
    headers: dict[str, str],
    call: _Call,
    max_response_bytes: int,
) -> _Outcome:
    response: BaseHTTPResponse | None = None
    # Twice at most: a pool closed by eviction between pool_for and urlopen took no
    # connection, so asking again is safe.
    for _ in range(2):
        pool = connections.pool_for(target, address)
        remaining = max(call.deadline - time.monotonic(), 0.001)
        try:
            response = pool.urlopen(
                "POST",
                target.request_target,
                body=body,
                headers=headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                timeout=Timeout(total=remaining),
                preload_content=False,
                decode_content=False,  # the bytes as sent: no decompression bomb
                release_conn=False,
            )
            break
        except ClosedPoolError:
            continue
        except _NETWORK_ERRORS as failure:
            expired = call.finish()
            # NewConnectionError is a ConnectTimeoutError: either way nothing was sent.
            connected = not isinstance(failure, ConnectTimeoutError)
            return _Outcome(error=TIMED_OUT if expired else _describe(failure), connected=connected)
    if response is None:
        return _Outcome(error=CONNECTION_FAILED)
    status = response.status
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    error = REDIRECT_NOT_FOLLOWED if 300 <= status < 400 else None
    complete = False
    read_error: str | None = None
    try:
        complete = _read_capped(response, max_response_bytes)
        if not complete:
            read_error = ANSWER_TOO_LARGE
    except _NETWORK_ERRORS as failure:
        read_error = _describe(failure)
    expired = call.finish()
    if complete and not expired:
        response.release_conn()  # whole answer read: the connection can be reused
    else:
        response.close()
        response.release_conn()
    if not complete:
        error = error or (TIMED_OUT if expired and read_error != ANSWER_TOO_LARGE else read_error)
    return _Outcome(status=status, retry_after_seconds=retry_after, error=error, connected=True)


def _read_capped(response: BaseHTTPResponse, limit: int) -> bool:
    """Read the answer to its end if it is at most `limit` bytes: True if it was."""
    limit = max(limit, 0)
    declared = response.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        return False  # not worth reading any of it
    read = 0
    while True:
        chunk = response.read(min(_READ_CHUNK, limit + 1 - read), decode_content=False)
        if not chunk:
            return True
        read += len(chunk)
        if read > limit:
            return False


def _describe(failure: BaseException) -> str:
    """Answer.error's words for a network failure."""
    chain = []
    cause: BaseException | None = failure
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(c, ConnectionRefusedError) for c in chain):
        return CONNECTION_REFUSED
    if any(isinstance(c, ssl.SSLCertVerificationError | CertificateError) for c in chain):
        return CERTIFICATE_NOT_TRUSTED
    if isinstance(failure, SSLError) or any(isinstance(c, ssl.SSLError) for c in chain):
        return TLS_FAILED
    if isinstance(failure, ReadTimeoutError) or any(isinstance(c, TimeoutError) for c in chain):
        return TIMED_OUT
    if isinstance(failure, ConnectTimeoutError) and not isinstance(failure, NewConnectionError):
        return TIMED_OUT
    if isinstance(failure, NewConnectionError):
        return CONNECTION_FAILED
    if isinstance(failure, ProtocolError) or any(
        isinstance(c, ConnectionError | http.client.IncompleteRead) for c in chain
    ):
        if any(isinstance(c, http.client.BadStatusLine | http.client.LineTooLong) for c in chain):
            return BAD_ANSWER
        return CONNECTION_CLOSED
    if any(isinstance(c, http.client.HTTPException) for c in chain):
        return BAD_ANSWER
    return CONNECTION_FAILED


# The deadline: one thread cuts off (shuts down the socket of) every call that passes
# it. Per-read socket timeouts alone would let a receiver that drips one byte at a time
# hold a worker for as long as it likes.

_owner_lock = threading.Lock()


class _Call:
    """One request to one address, and the connection it is using."""

    __slots__ = ("connection", "deadline", "expired", "finished")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.connection: HTTPConnection | None = None
        self.expired = False
        self.finished = False

    def attach(self, connection: HTTPConnection) -> None:
        with _owner_lock:
            connection._webhook_call = self  # type: ignore[attr-defined]
            self.connection = connection

    def cut(self) -> None:
        with _owner_lock:
            if self.finished:
                return
            self.expired = True
            connection = self.connection
            # The connection may have gone back to the pool and on to another call.
            if connection is None or getattr(connection, "_webhook_call", None) is not self:
                return
            sock = connection.sock
            if sock is not None:
                # The plain socket's shutdown, not SSLSocket's (which unwraps TLS):
                # wakes the thread blocked reading it.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def finish(self) -> bool:
        """No more cutting off; answer whether the deadline cut the call off."""
        with _owner_lock:
            self.finished = True
            self.connection = None
            return self.expired


class _Current(threading.local):
    call: _Call | None = None


_current = _Current()


class _Watched:
    """Connections that tell the current thread's call which connection it is using."""

    def connect(self) -> None:
        _attach(self)
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)  # type: ignore[misc]


def _attach(connection: Any) -> None:
    call = _current.call
    if call is not None:
        call.attach(connection)


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _Watchdog:
    """One daemon thread that cuts off the calls past their deadline, earliest first."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, _Call]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, call: _Call) -> None:
        with self._condition:
            heapq.heappush(self._heap, (call.deadline, next(self._order), call))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="webhook-deadlines", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is call:
                self._condition.notify()  # a new earliest deadline

    def _run(self) -> None:
        with self._condition:
            while True:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    heapq.heappop(self._heap)[2].cut()  # finished calls ignore it
                wait = self._heap[0][0] - now if self._heap else None
                self._condition.wait(wait)


_watchdog = _Watchdog()
_default_connections = Connections()


def _after_fork_in_child() -> None:
    # A child has no watchdog thread, and must not share its parent's sockets.
    global _watchdog, _default_connections, _owner_lock
    _owner_lock = threading.Lock()
    _watchdog = _Watchdog()
    _default_connections = Connections()


os.register_at_fork(after_in_child=_after_fork_in_child)
