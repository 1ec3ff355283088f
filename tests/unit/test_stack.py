"""`make run`'s processes, their environment and what it prints (services/stack.py)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import pytest

from backbone.settings import Settings
from services import NAMES
from services.stack import environment, programs, supervisor_config, where_everything_is

ROOT = Path(__file__).resolve().parents[2]


def local_settings() -> Settings:
    return dataclasses.replace(Settings(), smtp_port=2525, mail_web_port=8025)


def test_the_mail_server_is_one_of_the_servers_stopped_last():
    assert programs()["mail"] == ("servers", "deploy/local/mail")
    config = supervisor_config(local_settings())
    assert "[group:servers]\nprograms=database,broker,mail\npriority=100\n" in config
    assert "[program:mail]\ncommand=deploy/local/mail\n" in config


def test_the_mail_script_runs_maildev_on_this_machine_only():
    script = ROOT / "deploy/local/mail"
    assert os.access(script, os.X_OK)
    subprocess.run(["sh", "-n", str(script)], check=True)
    assert "--config deploy/local/maildev.json" in script.read_text()
    fixed = json.loads((ROOT / "deploy/local/maildev.json").read_text())
    assert fixed["ip"] == fixed["webIp"] == "127.0.0.1"


def test_where_everything_is_says_where_the_mail_is():
    printed = where_everything_is(local_settings())
    assert (
        "  mail           http://127.0.0.1:8025  (every email the system sends, caught here; "
        "SMTP 127.0.0.1:2525)\n"
    ) in printed


def test_every_process_is_told_where_the_mail_server_is(monkeypatch):
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", raising=False)
    env = environment(local_settings())
    assert (env["SMTP_HOST"], env["SMTP_PORT"], env["MAIL_WEB_PORT"]) == (
        "127.0.0.1",
        "2525",
        "8025",
    )
    for name in ("SMTP_HOST", "SMTP_PORT", "MAIL_WEB_PORT", "WEBHOOK_ALLOW_PRIVATE_ADDRESSES"):
        monkeypatch.setenv(name, env[name])
    settings = Settings.from_env()
    assert (settings.smtp_host, settings.smtp_port, settings.mail_web_port) == (
        "127.0.0.1",
        2525,
        8025,
    )
    assert settings.webhook_allow_private_addresses  # partners' receivers on this machine


def test_an_environment_that_refuses_private_webhook_addresses_is_kept(monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "0")
    assert environment(local_settings())["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"] == "0"


def test_monitoring_starts_after_the_web_processes_and_stops_before_them():
    config = supervisor_config(local_settings())
    assert "[group:monitoring]\nprograms=prometheus,alertmanager,blackbox\npriority=400\n" in config
    assert "[group:web]\nprograms=" in config and "priority=300\n" in config


@pytest.mark.parametrize("name", ["prometheus", "alertmanager", "blackbox"])
def test_each_monitoring_server_listens_on_this_machine_only(name):
    script = ROOT / "deploy/local" / name
    assert programs()[name] == ("monitoring", f"deploy/local/{name}")
    assert os.access(script, os.X_OK)
    subprocess.run(["sh", "-n", str(script)], check=True)
    assert '--web.listen-address="127.0.0.1:$' in script.read_text()


def test_where_everything_is_says_where_the_monitoring_is():
    printed = where_everything_is(local_settings())
    assert "  prometheus     http://127.0.0.1:9090  (" in printed
    assert "  alertmanager   http://127.0.0.1:9093  (" in printed
    assert "worker's http://127.0.0.1:9102/metrics)" in printed


def test_every_worker_is_given_its_own_metrics_port(monkeypatch):
    env = environment(local_settings())
    assert [env[f"{name.upper()}_WORKER_METRICS_PORT"] for name in NAMES] == [
        "9101",
        "9102",
        "9103",
        "9104",
        "9105",
    ]
    for name, value in env.items():
        if name.endswith("_PORT"):
            monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert settings.worker_metrics_ports == local_settings().worker_metrics_ports
    assert (settings.prometheus_port, settings.alertmanager_port) == (9090, 9093)
