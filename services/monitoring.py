"""The monitoring `make run` starts beside the system: Prometheus scraping every web and
worker process and probing each web process's /readyz (through the blackbox exporter),
with the alert rules of deploy/prometheus/rules, and Alertmanager emailing every alert to
the local mail server.

Their configuration is written at each start from the settings (ports) and the files in
deploy/. MONITORING_TIME_SCALE (tests only) multiplies every time in it, so that the real
rules fire in seconds: scrape and evaluation intervals, `for:` durations, windows and
offsets in expressions, thresholds marked "# seconds", and Alertmanager's waits.

`python -m services.monitoring DIR` writes it into DIR, for `make test` to check.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from backbone.settings import Settings
from services import NAMES

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy/prometheus/rules"
BLACKBOX = ROOT / "deploy/prometheus/blackbox.yml"
ALERTMANAGER = ROOT / "deploy/alertmanager/alertmanager.yml"
# Monitoring's own servers listen on this machine only, whatever FAMILYTIES_HOST says.
HOST = "127.0.0.1"
SCRAPE_SECONDS = 15.0
SCRAPE_TIMEOUT_SECONDS = 10.0
DEPENDENCIES = ("database", "broker")  # what each /readyz checks: one probe each

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
_RANGE = re.compile(rf"\[({_DURATION})(?::({_DURATION})?)?\]")
_OFFSET = re.compile(rf"\boffset\s+({_DURATION})")
_MARKED_SECONDS = re.compile(r"(\d+(?:\.\d+)?)(\s*#\s*seconds\b)")
_FOR = re.compile(r"(?m)^(\s*for:\s*)(\S+)$")
_WAITS = re.compile(
    r"(?m)^(\s*(?:group_wait|group_interval|repeat_interval|resolve_timeout):\s*)(\S+)"
)


def seconds(duration: str) -> float:
    """A Prometheus duration ("1h30m", "500ms") in seconds."""
    return sum(int(n) * UNITS[unit] for n, unit in re.findall(r"(\d+)(ms|[smhdwy])", duration))


def duration(value: float) -> str:
    """Seconds as a Prometheus duration, to the millisecond."""
    milliseconds = max(1, round(value * 1000))
    return f"{milliseconds // 1000}s" if milliseconds % 1000 == 0 else f"{milliseconds}ms"


def scaled(text: str, scale: float) -> str:
    return duration(seconds(text) * scale)


def scale_expression(expression: str, scale: float) -> str:
    """A PromQL expression with its windows, offsets and marked thresholds scaled."""

    def scale_range(match: re.Match) -> str:
        window, step = match.group(1), match.group(2)
        inner = scaled(window, scale)
        if ":" in match.group(0):
            inner += ":" + (scaled(step, scale) if step else "")
        return f"[{inner}]"

    expression = _RANGE.sub(scale_range, expression)
    expression = _OFFSET.sub(lambda m: f"offset {scaled(m.group(1), scale)}", expression)
    return _MARKED_SECONDS.sub(lambda m: f"{float(m.group(1)) * scale:g}{m.group(2)}", expression)


def scale_rules(text: str, scale: float) -> str:
    """A rules file with its `for:` durations and its expressions' times scaled; the rest of
    it (comments, layout) as it is."""
    text = _FOR.sub(lambda m: m.group(1) + scaled(m.group(2), scale), text)
    return scale_expression(text, scale)


def prometheus_config(settings: Settings, rule_files: list[str]) -> dict[str, Any]:
    interval = SCRAPE_SECONDS * settings.monitoring_time_scale

    def process(name: str, port: int) -> dict[str, Any]:
        return {"targets": [f"{settings.host}:{port}"], "labels": {"service": name}}

    probes = [
        {
            "targets": [f"{settings.url(name)}/readyz"],
            "labels": {"service": name, "dependency": dependency, "__param_module": dependency},
        }
        for name in NAMES
        for dependency in DEPENDENCIES
    ]
    return {
        "global": {
            "scrape_interval": duration(interval),
            "scrape_timeout": duration(min(interval, SCRAPE_TIMEOUT_SECONDS)),
            "evaluation_interval": duration(interval),
        },
        "rule_files": rule_files,
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [f"{HOST}:{settings.alertmanager_port}"]}]}
            ]
        },
        # honor_labels: the HTTP metrics carry `service` themselves, the same as the target's.
        "scrape_configs": [
            {
                "job_name": "web",
                "honor_labels": True,
                "static_configs": [process(name, settings.ports[name]) for name in NAMES],
            },
            {
                "job_name": "worker",
                "honor_labels": True,
                "static_configs": [
                    process(name, settings.worker_metrics_ports[name]) for name in NAMES
                ],
            },
            {
                "job_name": "readiness",
                "metrics_path": "/probe",
                "static_configs": probes,
                "relabel_configs": [
                    {"source_labels": ["__address__"], "target_label": "__param_target"},
                    {"source_labels": ["__address__"], "target_label": "instance"},
                    {
                        "target_label": "__address__",
                        "replacement": f"{HOST}:{settings.blackbox_exporter_port}",
                    },
                ],
            },
        ],
    }


def alertmanager_config(settings: Settings) -> str:
    """deploy/alertmanager/alertmanager.yml, sending to the settings' mail server."""
    text = ALERTMANAGER.read_text()
    text = re.sub(
        r"(?m)^(\s*smtp_smarthost:\s*)\S+$",
        rf"\g<1>{settings.smtp_host}:{settings.smtp_port}",
        text,
    )
    scale = settings.monitoring_time_scale
    return (
        text if scale == 1 else _WAITS.sub(lambda m: m.group(1) + scaled(m.group(2), scale), text)
    )


def write(settings: Settings, directory: Path) -> None:
    """Prometheus', its rules', the blackbox exporter's and Alertmanager's configuration.
    Prometheus' is JSON, which it reads as the YAML it is."""
    (directory / "rules").mkdir(parents=True, exist_ok=True)
    rule_files = []
    for source in sorted(RULES.glob("*.yml")):
        text = source.read_text()
        if settings.monitoring_time_scale != 1:
            text = scale_rules(text, settings.monitoring_time_scale)
        (directory / "rules" / source.name).write_text(text)
        rule_files.append(f"rules/{source.name}")
    config = prometheus_config(settings, rule_files)
    (directory / "prometheus.yml").write_text(json.dumps(config, indent=2) + "\n")
    (directory / "alertmanager.yml").write_text(alertmanager_config(settings))
    shutil.copyfile(BLACKBOX, directory / "blackbox.yml")


if __name__ == "__main__":
    write(Settings.from_env(), Path(sys.argv[1]))
