"""The whole system started the way `make run` starts it, on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from services import NAMES
from services.stack import programs
from tests.mail_catcher import MailCatcher
from tests.servers import free_port

BIN = Path(sys.executable).parent


class Stack:
    def __init__(self, var_dir: Path, log_path: Path, monitoring_time_scale: float = 1) -> None:
        """`monitoring_time_scale`: see services/monitoring.py (tests of alerts make it small)."""
        self.var_dir = var_dir
        self.log_path = log_path
        self.ports = {name: free_port() for name in NAMES}
        self.worker_metrics_ports = {name: free_port() for name in NAMES}
        self.monitoring_ports = {
            "prometheus": free_port(),
            "alertmanager": free_port(),
            "blackbox_exporter": free_port(),
        }
        self.broker = f"127.0.0.1:{free_port()}"
        self.env = os.environ | {
            "FAMILYTIES_VAR_DIR": str(var_dir),
            "MONGODB_URI": f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
            "&retryWrites=false",
            "KAFKA_BOOTSTRAP_SERVERS": self.broker,
            "LOG_LEVEL": "INFO",
        }
        self.env |= {f"{name.upper()}_PORT": str(port) for name, port in self.ports.items()}
        self.env |= {
            f"{name.upper()}_WORKER_METRICS_PORT": str(port)
            for name, port in self.worker_metrics_ports.items()
        }
        self.env |= {f"{name.upper()}_PORT": str(p) for name, p in self.monitoring_ports.items()}
        self.env["MONITORING_TIME_SCALE"] = str(monitoring_time_scale)
        # the local mail server: every email the system sends is caught there
        self.mail = MailCatcher(smtp_port=free_port(), web_port=free_port())
        self.env |= {
            "SMTP_HOST": self.mail.host,
            "SMTP_PORT": str(self.mail.smtp_port),
            "MAIL_WEB_PORT": str(self.mail.web_port),
        }
        self.process: subprocess.Popen | None = None

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def worker_metrics_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.worker_metrics_ports[service]}/metrics"

    @property
    def prometheus(self) -> str:
        return f"http://127.0.0.1:{self.monitoring_ports['prometheus']}"

    @property
    def alertmanager(self) -> str:
        return f"http://127.0.0.1:{self.monitoring_ports['alertmanager']}"

    def start(self, timeout: float = 120) -> None:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [BIN / "familyties", "run"], env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        waiting = {*NAMES, "mail"}
        while waiting and time.monotonic() < deadline:
            assert self.process.poll() is None, f"the stack exited; see {self.log_path}"
            if "mail" in waiting and self.mail.ready():
                waiting.discard("mail")
            for name in waiting & set(NAMES):
                try:
                    ready = requests.get(f"{self.url(name)}/readyz", timeout=2)
                    if ready.status_code == 200 and ready.json()["status"] == "ready":
                        waiting.discard(name)
                except requests.RequestException:
                    pass
            time.sleep(0.3)
        assert not waiting, f"not ready: {waiting}; see {self.log_path}"

    def stop(self, timeout: float = 60) -> int:
        """Ctrl-C, as a person at the terminal would; answers the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        status = self.process.wait(timeout)
        self._log.close()
        return status

    def pid_of(self, process_name: str) -> int:
        """The pid of a process of the stack (`broker`, `casework-worker`, ...) now."""
        group, _ = programs()[process_name]
        return int(self.familyties("processes", "pid", f"{group}:{process_name}").strip())

    def kill(self, process_name: str) -> int:
        """SIGKILL a process, as a crash would; answers its pid."""
        pid = self.pid_of(process_name)
        os.kill(pid, signal.SIGKILL)
        return pid

    def restarted(self, process_name: str, old_pid: int) -> bool:
        """Whether the process runs again, as a new process."""
        group, _ = programs()[process_name]
        status = self.familyties("processes", "status", f"{group}:{process_name}", check=False)
        return "RUNNING" in status and f"pid {old_pid}," not in status

    def control(self, *arguments: str) -> str:
        """supervisorctl, e.g. control("stop", "servers:database")."""
        return self.familyties("processes", *arguments, check=False)

    def listening_ports(self) -> list[int]:
        ports = [*self.ports.values(), int(self.broker.rsplit(":", 1)[1])]
        ports += [self.mail.smtp_port, self.mail.web_port]
        ports += [*self.worker_metrics_ports.values(), *self.monitoring_ports.values()]
        ports.append(int(self.env["MONGODB_URI"].rsplit(":", 1)[1].split("/")[0]))
        listening = []
        for port in ports:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    listening.append(port)
        return listening

    def familyties(self, *args: str, check: bool = True) -> str:
        return subprocess.run(
            [BIN / "familyties", *args], env=self.env, check=check, capture_output=True, text=True
        ).stdout

    def new_partner_key(self, name: str) -> str:
        return self.familyties("partners", "create", name).strip().splitlines()[-1]

    def new_staff(
        self, username: str, role: str, email: str | None = None
    ) -> tuple[str, dict[str, str]]:
        """A casework account: its id, and the Authorization header of its API key."""
        account = ["--name", username.title(), "--role", role, "--password", "a long password"]
        account += ["--api-key"]  # the tests call the API as staff
        account += ["--email", email] if email else []
        output = self.familyties("casework", "staff", "create", username, *account)
        lines = output.strip().splitlines()
        staff_id = lines[0].rsplit(" ", 1)[-1].rstrip(".")
        return staff_id, {"Authorization": f"Bearer {lines[-1]}"}

    def pause(self, process_name: str) -> None:
        os.kill(self.pid_of(process_name), signal.SIGSTOP)

    def resume(self, process_name: str) -> None:
        os.kill(self.pid_of(process_name), signal.SIGCONT)
