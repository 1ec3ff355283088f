"""docker-compose.yml as a whole: Debian's docker-compose accepts it, every container runs
unprivileged on a read-only root, workers are scaled out, and Prometheus, Alertmanager and
Grafana are provisioned from the repository's own files, which their own tools accept."""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from services import NAMES
from tests.unit.test_compose_secrets import ROOT, environment

COMPOSE = ROOT / "docker-compose.yml"
# `${NAME:?message}`: compose refuses to start without NAME.
REQUIRED = re.compile(r"\$\{([A-Z0-9_]+):\?")
# The broker's start writes its configuration and logs into the image (deploy/kafka/).
WRITABLE_ROOT = {"kafka"}
WORKER_REPLICAS = 2
WORKER_METRICS_PORT = 9100


@pytest.fixture(scope="module")
def containers() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def required_variables() -> set[str]:
    lines = [line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#")]
    return set(REQUIRED.findall("\n".join(lines)))


def dummy_environment(tmp_path: Path) -> dict[str, str]:
    """Every variable the file requires, set to a stand-in; TLS_DIR must be a folder."""
    env = {name: f"dummy-{name.lower()}" for name in required_variables()}
    return os.environ | env | {"TLS_DIR": str(tmp_path)}


def mounted(container: dict, target: str) -> Path:
    """The repository path bind-mounted at `target` in a container."""
    for volume in container["volumes"]:
        source, inside, *_ = volume.split(":")
        if inside == target:
            assert source.startswith("./"), f"{target} is not a repository file"
            return ROOT / source
    raise AssertionError(f"nothing is mounted at {target}")


def test_docker_compose_accepts_the_file(tmp_path):
    checked = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config"],
        env=dummy_environment(tmp_path),
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert checked.returncode == 0, checked.stderr
    resolved = yaml.safe_load(checked.stdout)["services"]
    for service in NAMES:
        assert resolved[f"{service}-worker"]["deploy"]["replicas"] == WORKER_REPLICAS


def test_docker_compose_refuses_to_start_without_a_secret(tmp_path):
    env = dummy_environment(tmp_path)
    del env["GRAFANA_ADMIN_PASSWORD"]
    checked = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert checked.returncode != 0
    assert "set GRAFANA_ADMIN_PASSWORD" in checked.stderr


def test_every_container_runs_as_a_user_other_than_root(containers):
    for name, container in containers.items():
        user = str(container.get("user", ""))
        assert user, f"{name} runs as its image's user, perhaps root: name one"
        assert user.split(":")[0] not in ("0", "root"), name
        assert "no-new-privileges:true" in container["security_opt"], name


def test_every_container_but_the_broker_has_a_read_only_root(containers):
    for name, container in containers.items():
        assert container.get("read_only", False) == (name not in WRITABLE_ROOT), name


def test_the_image_runs_as_the_user_compose_names(containers):
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    user = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)[-1]
    assert re.search(rf"useradd .*--uid {user.split(':')[0]} ", dockerfile)
    for service in NAMES:
        for role in ("web", "worker"):
            assert containers[f"{service}-{role}"]["user"] == user
            assert "/tmp" in containers[f"{service}-{role}"]["tmpfs"]  # metrics files


def test_every_folder_the_image_writes_to_is_on_its_tmpfs():
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    after_user = dockerfile[dockerfile.rindex("\nUSER ") :]
    folders = dict(re.findall(r"(\w+)=(/\S+)", after_user))
    assert {"PROMETHEUS_MULTIPROC_DIR", "FAMILYTIES_VAR_DIR", "XDG_CACHE_HOME"} <= folders.keys()
    assert all(folder.startswith("/tmp/") for folder in folders.values()), folders


def test_images_are_pinned(containers):
    for name, container in containers.items():
        if "image" in container:
            assert re.search(r":v?\d+\.\d+", container["image"]), name


def test_each_service_has_two_workers_each_with_its_own_metrics(containers):
    for service in NAMES:
        worker = containers[f"{service}-worker"]
        assert worker["deploy"]["replicas"] == WORKER_REPLICAS
        assert environment(worker)["WORKER_METRICS_PORT"] == str(WORKER_METRICS_PORT)
        assert "ports" not in worker, "replicas cannot share a published port"


def test_prometheus_finds_every_web_and_worker_container_by_dns(containers):
    prometheus = containers["prometheus"]
    config = yaml.safe_load(mounted(prometheus, "/etc/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    found = {
        (name, sd["port"])
        for role in ("web", "worker")
        for sd in jobs[role]["dns_sd_configs"]
        for name in sd["names"]
    }
    webs = {(f"{s}-web", int(environment(containers[f"{s}-web"])["PORT"])) for s in NAMES}
    workers = {(f"{s}-worker", WORKER_METRICS_PORT) for s in NAMES}
    assert found == webs | workers
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "alertmanager:9093"
    ]


def test_prometheus_loads_the_repository_s_alert_rules(containers):
    prometheus = containers["prometheus"]
    assert mounted(prometheus, "/etc/prometheus/rules") == ROOT / "deploy/prometheus/rules"
    config = yaml.safe_load(mounted(prometheus, "/etc/prometheus/prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]


def test_promtool_accepts_the_configuration_with_the_rules_it_loads(tmp_path, containers):
    """The compose configuration, its rule path pointed at the repository's rules."""
    source = mounted(containers["prometheus"], "/etc/prometheus/prometheus.yml").read_text()
    rules = ROOT / "deploy/prometheus/rules"
    config = tmp_path / "prometheus.yml"
    config.write_text(source.replace("/etc/prometheus/rules", str(rules)))
    checked = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_prometheus_probes_every_web_container_for_its_database_and_the_broker(containers):
    # Without these probes the alerts for an unreachable database or broker never fire.
    config = yaml.safe_load(
        mounted(containers["prometheus"], "/etc/prometheus/prometheus.yml").read_text()
    )
    (readiness,) = [job for job in config["scrape_configs"] if job["job_name"] == "readiness"]
    probed = {
        (group["labels"]["service"], group["labels"]["dependency"], group["targets"][0])
        for group in readiness["static_configs"]
    }
    webs = {name.removesuffix("-web") for name in containers if name.endswith("-web")}
    ports = {name: containers[f"{name}-web"]["environment"]["PORT"] for name in webs}
    assert probed == {
        (name, dependency, f"http://{name}-web:{ports[name]}/readyz")
        for name in webs
        for dependency in ("database", "broker")
    }
    exporter = containers["blackbox-exporter"]
    assert mounted(exporter, "/etc/blackbox_exporter/config.yml") == (
        ROOT / "deploy/prometheus/blackbox.yml"
    )


def rendered_alertmanager_config(containers, tmp_path: Path) -> Path:
    """deploy/alertmanager/start.sh run as the container runs it, with stand-ins."""
    alertmanager = containers["alertmanager"]
    folder = mounted(alertmanager, "/familyties/alertmanager")
    assert alertmanager["entrypoint"] == ["/bin/sh", "/familyties/alertmanager/start.sh"]
    given = {name: f"stand-in-{name.lower()}" for name in environment(alertmanager)} | {
        "SMTP_SMARTHOST": "smtp.example.org:587",
        "MAIL_FROM": "Family Ties <notifications@example.org>",
        "ALERT_EMAIL_TO": "ops@example.org",
        "SMTP_PASSWORD": 'it\'s a "password"',
    }
    assert given.keys() == environment(alertmanager).keys()
    rendered = tmp_path / "alertmanager.yml"
    subprocess.run(
        ["sh", str(folder / "start.sh"), "true"],
        env={
            "PATH": os.environ["PATH"],
            "ALERTMANAGER_TEMPLATE": str(folder / "compose.yml"),
            "ALERTMANAGER_CONFIG": str(rendered),
            **given,
        },
        check=True,
    )
    return rendered


def test_alertmanager_emails_through_the_relay_the_file_already_names(containers, tmp_path):
    env = environment(containers["alertmanager"])
    assert env["SMTP_SMARTHOST"] == "${SMTP_HOST:?set SMTP_HOST, the mail relay}:${SMTP_PORT:-587}"
    for name in ("SMTP_USERNAME", "SMTP_PASSWORD", "MAIL_FROM", "ALERT_EMAIL_TO"):
        assert REQUIRED.match(env[name]), name
    rendered = rendered_alertmanager_config(containers, tmp_path)
    assert oct(rendered.stat().st_mode & 0o777) == "0o600", "it holds the relay's password"
    config = yaml.safe_load(rendered.read_text())
    assert config["global"]["smtp_auth_password"] == 'it\'s a "password"'
    assert config["global"]["smtp_require_tls"] is True
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers[config["route"]["receiver"]]["email_configs"][0]["to"] == "ops@example.org"


def test_alertmanager_refuses_to_start_without_its_settings(containers, tmp_path):
    folder = mounted(containers["alertmanager"], "/familyties/alertmanager")
    started = subprocess.run(
        ["sh", str(folder / "start.sh"), "true"],
        env={
            "PATH": os.environ["PATH"],
            "ALERTMANAGER_TEMPLATE": str(folder / "compose.yml"),
            "ALERTMANAGER_CONFIG": str(tmp_path / "alertmanager.yml"),
        },
        capture_output=True,
        text=True,
    )
    assert started.returncode != 0
    assert "set SMTP_SMARTHOST" in started.stderr


def test_amtool_accepts_the_alertmanager_configuration(containers, tmp_path):
    rendered = rendered_alertmanager_config(containers, tmp_path)
    checked = subprocess.run(["amtool", "check-config", str(rendered)], capture_output=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_grafana_is_provisioned_from_the_repository(containers):
    grafana = containers["grafana"]
    provisioning = mounted(grafana, "/etc/grafana/provisioning")
    assert provisioning == ROOT / "deploy/grafana/provisioning"
    assert mounted(grafana, "/etc/grafana/dashboards") == ROOT / "deploy/grafana/dashboards"
    sources = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())
    [source] = sources["datasources"]
    assert (source["uid"], source["type"]) == ("prometheus", "prometheus")
    assert source["url"] == "http://prometheus:9090" and "prometheus" in containers
    providers = yaml.safe_load((provisioning / "dashboards/familyties.yml").read_text())
    [provider] = providers["providers"]
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
    assert REQUIRED.match(environment(grafana)["GF_SECURITY_ADMIN_PASSWORD"])


def test_the_ops_pages_listen_on_the_loopback_only(containers):
    for name in ("prometheus", "alertmanager", "grafana"):
        for port in containers[name]["ports"]:
            assert port.startswith("127.0.0.1:"), name


def test_alertmanager_s_start_script_parses():
    subprocess.run(["sh", "-n", str(ROOT / "deploy/alertmanager/start.sh")], check=True)
