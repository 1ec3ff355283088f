"""The monitoring's configuration (services/monitoring.py), alert rules and dashboards: every
alert documented and unit-tested, and the scaled rules of the tests still the real ones."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from backbone.settings import Settings
from services import NAMES, monitoring

ROOT = Path(__file__).resolve().parents[2]
RULES = yaml.safe_load((ROOT / "deploy/prometheus/rules/familyties.yml").read_text())
ALERTS = [rule for group in RULES["groups"] for rule in group["rules"] if "alert" in rule]
RUNBOOK = (ROOT / "docs/operations.md").read_text()


def test_the_issue_s_alerts_are_all_there():
    assert {alert["alert"] for alert in ALERTS} >= {
        "ServiceDown",
        "WorkerDown",
        "HighErrorRatio",
        "HighLatency",
        "ConsumerLagHigh",
        "EventAgeHigh",
        "OutboxBacklogGrowing",
        "OutboxEventTooOld",
        "EventsDeadLettered",
        "DatabaseUnreachable",
        "BrokerUnreachable",
        "ReferralsWaitingForFirstContact",
        "NotificationsFailing",
    }


@pytest.mark.parametrize("alert", ALERTS, ids=lambda alert: alert["alert"])
def test_every_alert_has_a_summary_a_severity_and_its_own_runbook_entry(alert):
    name = alert["alert"]
    assert alert["labels"]["severity"] in ("critical", "warning")
    assert alert["annotations"]["summary"] and alert["annotations"]["description"]
    assert alert["annotations"]["runbook_url"] == f"docs/operations.md#{name.lower()}"
    entry = RUNBOOK.split(f"\n### {name}\n", 1)[1].split("\n### ", 1)[0]
    for part in ("**Means.**", "**Confirm.**", "**Act.**"):
        assert part in entry, f"{name}'s runbook entry lacks {part}"


def test_every_alert_has_unit_tests_that_fire_it_and_that_must_not():
    fired, silent = set(), set()
    for path in (ROOT / "deploy/prometheus/tests").glob("*.yml"):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                (fired if case.get("exp_alerts") else silent).add(case["alertname"])
    names = {alert["alert"] for alert in ALERTS}
    assert names - fired == set(), "never shown to fire"
    assert names - silent == set(), "never shown to stay quiet"


def test_scaling_changes_windows_offsets_for_and_marked_times_only():
    expression = (
        'sum(rate(x_total{status=~"[45].."}[5m])) / sum(rate(x_total[1h30m] offset 1h)) > 0.05\n'
        "and max_over_time(y[10m:1m]) > 300  # seconds\nand z_seconds > 1"
    )
    assert monitoring.scale_expression(expression, 0.1) == (
        'sum(rate(x_total{status=~"[45].."}[30s])) / sum(rate(x_total[540s] offset 360s)) > 0.05\n'
        "and max_over_time(y[60s:6s]) > 30  # seconds\nand z_seconds > 1"
    )
    assert monitoring.scaled("1m", 0.025) == "1500ms"


def test_the_scaled_rules_are_valid_and_keep_every_alert(tmp_path):
    settings = dataclasses.replace(Settings(), monitoring_time_scale=0.1)
    monitoring.write(settings, tmp_path)
    scaled = yaml.safe_load((tmp_path / "rules/familyties.yml").read_text())
    subprocess.run(["promtool", "check", "rules", tmp_path / "rules/familyties.yml"], check=True)
    [too_old] = [
        r for g in scaled["groups"] for r in g["rules"] if r["alert"] == "OutboxEventTooOld"
    ]
    assert re.search(r"> 30\s+# seconds", too_old["expr"])
    assert [r["alert"] for g in scaled["groups"] for r in g["rules"]] == [
        a["alert"] for a in ALERTS
    ]
    config = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    assert config["global"]["scrape_interval"] == "1500ms"
    assert (
        yaml.safe_load((tmp_path / "alertmanager.yml").read_text())["route"]["group_wait"] == "3s"
    )


def test_unscaled_the_rules_in_use_are_the_files_themselves(tmp_path):
    monitoring.write(Settings(), tmp_path)
    source = (ROOT / "deploy/prometheus/rules/familyties.yml").read_text()
    assert (tmp_path / "rules/familyties.yml").read_text() == source


def test_prometheus_scrapes_every_web_and_worker_process_and_probes_every_readyz():
    settings = dataclasses.replace(
        Settings(), worker_metrics_ports={name: 9200 + i for i, name in enumerate(NAMES)}
    )
    config = monitoring.prometheus_config(settings, ["rules/familyties.yml"])
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}

    def scraped(job: str) -> dict[str, str]:
        return {c["labels"]["service"]: c["targets"][0] for c in jobs[job]["static_configs"]}

    assert scraped("web") == {name: f"127.0.0.1:{settings.ports[name]}" for name in NAMES}
    assert scraped("worker") == {name: f"127.0.0.1:{9200 + i}" for i, name in enumerate(NAMES)}
    probes = {
        (c["labels"]["service"], c["labels"]["__param_module"], c["targets"][0])
        for c in jobs["readiness"]["static_configs"]
    }
    assert probes == {
        (name, dependency, f"{settings.url(name)}/readyz")
        for name in NAMES
        for dependency in ("database", "broker")
    }
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:9093"
    ]


def test_alertmanager_emails_the_mail_server_of_the_settings():
    text = monitoring.alertmanager_config(dataclasses.replace(Settings(), smtp_port=2525))
    config = yaml.safe_load(text)
    assert config["global"]["smtp_smarthost"] == "127.0.0.1:2525"
    assert config["route"]["receiver"] == "operations"


def test_every_dashboard_panel_queries_the_prometheus_datasource():
    for path in (ROOT / "deploy/grafana/dashboards").glob("*.json"):
        board = json.loads(path.read_text())
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), path.name
        for panel in board["panels"]:
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
            assert panel["targets"] and all(t["expr"] and t["refId"] for t in panel["targets"])
