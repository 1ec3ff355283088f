"""`make run`: the whole system on one machine, under supervisord.

supervisord restarts any process that exits (pausing longer each time one keeps failing
at once), as docker-compose's restart policy does in production, and sends every log line
to this terminal. Ctrl-C stops the web processes first, then the workers, then the
servers (broker, database and the local mail server, MailDev, which catches every email the
system sends and shows it on a web page), each within its grace period. Monitoring
(Prometheus, Alertmanager and the blackbox exporter, services/monitoring.py) starts last
and stops first, so that a stack stopping raises no alert. Settings are resolved here once
and handed to every process through the environment, so the ports and paths printed are
the ones in use.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from backbone.settings import Settings
from services import NAMES, monitoring

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# (group, priority, grace seconds): started in this order, stopped in the reverse one,
# each group only once the one before it has stopped.
GROUPS = [("servers", 100, 30), ("workers", 200, 20), ("web", 300, 20), ("monitoring", 400, 20)]
# The local mail server listens on this machine only (deploy/local/mail).
MAIL_HOST = "127.0.0.1"


def environment(settings: Settings) -> dict[str, str]:
    """The environment every process of the stack runs with."""
    var = settings.var_dir.resolve()
    db_host, db_port = settings.mongodb_host_port
    broker_host, broker_port = settings.kafka_host_port
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "FAMILYTIES_VAR_DIR": str(var),
        "FAMILYTIES_HOST": settings.host,
        "MONGODB_URI": settings.mongodb_uri,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "DATABASE_HOST": db_host,
        "DATABASE_PORT": str(db_port),
        "BROKER_HOST": broker_host,
        "BROKER_PORT": str(broker_port),
        "SMTP_HOST": settings.smtp_host,
        "SMTP_PORT": str(settings.smtp_port),
        "MAIL_WEB_PORT": str(settings.mail_web_port),
        "PROMETHEUS_PORT": str(settings.prometheus_port),
        "ALERTMANAGER_PORT": str(settings.alertmanager_port),
        "BLACKBOX_EXPORTER_PORT": str(settings.blackbox_exporter_port),
        "PYTHONUNBUFFERED": "1",
    }
    # Partners' webhook receivers run on this machine when developing: let them be reached
    # (production leaves this off), unless the environment already says otherwise.
    env.setdefault("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "1")
    for name in NAMES:
        env[f"{name.upper()}_PORT"] = str(settings.ports[name])
        env[f"{name.upper()}_WORKER_METRICS_PORT"] = str(settings.worker_metrics_ports[name])
    return env


def programs() -> dict[str, tuple[str, str]]:
    """Every process of the stack: name, (group, command)."""
    found = {"database": ("servers", "deploy/local/database")}
    found["broker"] = ("servers", "deploy/local/broker")
    found["mail"] = ("servers", "deploy/local/mail")
    for name in NAMES:
        found[f"{name}-worker"] = ("workers", f"deploy/local/worker {name}")
        found[f"{name}-web"] = ("web", f"deploy/local/web {name}")
    for name in ("prometheus", "alertmanager", "blackbox"):
        found[name] = ("monitoring", f"deploy/local/{name}")
    return found


def supervisor_config(settings: Settings) -> str:
    run = settings.var_dir.resolve() / "run"
    lines = [
        "[supervisord]",
        "nodaemon=true",
        # nodaemon already echoes supervisord's own lines here; the file keeps a copy.
        f"logfile={run}/supervisord.log",
        f"pidfile={run}/supervisord.pid",
        f"directory={ROOT}",
        "[unix_http_server]",
        f"file={run}/supervisor.sock",
        "chmod=0700",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory=supervisor.rpcinterface:make_main_rpcinterface",
        "[supervisorctl]",
        f"serverurl=unix://{run}/supervisor.sock",
    ]
    for group, priority, grace in GROUPS:
        members = [name for name, (of, _) in programs().items() if of == group]
        lines += [f"[group:{group}]", f"programs={','.join(members)}", f"priority={priority}"]
        for name in members:
            lines += [
                f"[program:{name}]",
                f"command={programs()[name][1]}",
                f"stopwaitsecs={grace}",  # the process's own grace period is shorter
                "autorestart=true",
                "startretries=100",
                "redirect_stderr=true",
                "stdout_logfile=/dev/stdout",
                "stdout_logfile_maxbytes=0",
            ]
    return "\n".join(lines) + "\n"


def prepare(settings: Settings) -> Path:
    """Data persists in var/db (and Prometheus' and Alertmanager's in var/prometheus and
    var/alertmanager); per-run state (metrics files, the mail caught, supervisord's socket,
    every configuration) starts afresh. var/ holds special-category data: its owner's only."""
    var = settings.var_dir.resolve()
    var.mkdir(mode=0o700, parents=True, exist_ok=True)
    var.chmod(0o700)
    (var / "db").mkdir(exist_ok=True)
    shutil.rmtree(var / "run", ignore_errors=True)
    for name in NAMES:  # a web process's gunicorn processes share one; its worker has its own
        (var / "run" / "metrics" / name).mkdir(parents=True)
        (var / "run" / "metrics" / f"{name}-worker").mkdir(parents=True)
    monitoring.write(settings, var / "run" / "monitoring")
    config = var / "run" / "supervisord.conf"
    config.write_text(supervisor_config(settings))
    return config


def where_everything_is(settings: Settings) -> str:
    lines = ["Family Ties is starting. Ctrl-C stops everything.", ""]
    for name in NAMES:
        url = settings.url(name)
        worker = f"http://{settings.host}:{settings.worker_metrics_ports[name]}/metrics"
        lines.append(
            f"  {name:<14} {url}  (API docs {url}/docs, metrics {url}/metrics, worker's {worker})"
        )
    prometheus = f"http://{monitoring.HOST}:{settings.prometheus_port}"
    alertmanager = f"http://{monitoring.HOST}:{settings.alertmanager_port}"
    lines += [
        f"  {'broker':<14} {settings.kafka_bootstrap_servers}  (Kafka protocol)",
        f"  {'database':<14} {settings.mongodb_uri}",
        f"  {'mail':<14} http://{MAIL_HOST}:{settings.mail_web_port}  (every email the system "
        f"sends, caught here; SMTP {MAIL_HOST}:{settings.smtp_port})",
        f"  {'prometheus':<14} {prometheus}  (every process's metrics, alerts at "
        f"{prometheus}/classic/alerts; runbook docs/operations.md)",
        f"  {'alertmanager':<14} {alertmanager}  (alerts and silences; each alert is "
        "emailed to the mail page)",
        f"  {'data':<14} {settings.var_dir.resolve()}",
        "",
        "Give a partner an API key:  .venv/bin/familyties partners create 'Partner name'",
        "Coordinators' pages:        .venv/bin/familyties casework staff create USERNAME "
        f"--name NAME --role manager, then {settings.url('casework')}/sign-in",
        "Managers' reports:          .venv/bin/familyties reporting viewers create USERNAME "
        f"--name NAME --role manager, then {settings.url('reporting')}/sign-in",
        "See and restart processes:  .venv/bin/familyties processes status",
        "",
    ]
    return "\n".join(lines)


def start(settings: Settings) -> None:
    config = prepare(settings)
    print(where_everything_is(settings), flush=True)
    os.chdir(ROOT)
    supervisord = BIN / "supervisord"
    os.execve(
        supervisord, [str(supervisord), "--configuration", str(config)], environment(settings)
    )


def control(settings: Settings, arguments: list[str]) -> None:
    """supervisorctl for the running stack: status, restart NAME, stop NAME, start NAME."""
    config = settings.var_dir.resolve() / "run" / "supervisord.conf"
    if not config.exists():
        raise FileNotFoundError(f"{config}: is `make run` running?")
    supervisorctl = BIN / "supervisorctl"
    os.execve(
        supervisorctl,
        [str(supervisorctl), "--configuration", str(config), *arguments],
        environment(settings),
    )
