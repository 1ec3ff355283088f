"""`make run`: the whole system on one machine, under honcho (see Procfile).

Settings are resolved here once and handed to every process through the environment,
so the ports and paths printed are the ones in use.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from backbone.settings import Settings
from services import NAMES

ROOT = Path(__file__).resolve().parent.parent


def environment(settings: Settings) -> dict[str, str]:
    """The environment every process of the stack runs with."""
    var = settings.var_dir.resolve()
    db_host, db_port = settings.mongodb_host_port
    broker_host, broker_port = settings.kafka_host_port
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "FAMILYTIES_VAR_DIR": str(var),
        "FAMILYTIES_HOST": settings.host,
        "MONGODB_URI": settings.mongodb_uri,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "DATABASE_HOST": db_host,
        "DATABASE_PORT": str(db_port),
        "BROKER_HOST": broker_host,
        "BROKER_PORT": str(broker_port),
        "PYTHONUNBUFFERED": "1",
    }
    for name in NAMES:
        env[f"{name.upper()}_PORT"] = str(settings.ports[name])
    return env


def prepare(settings: Settings) -> None:
    """Data persists in var/db; per-run state (metrics files) starts afresh."""
    var = settings.var_dir.resolve()
    (var / "db").mkdir(parents=True, exist_ok=True)
    shutil.rmtree(var / "run", ignore_errors=True)
    for name in NAMES:
        (var / "run" / "metrics" / name).mkdir(parents=True)


def where_everything_is(settings: Settings) -> str:
    lines = ["Family Ties is starting. Ctrl-C stops everything.", ""]
    for name in NAMES:
        url = settings.url(name)
        lines.append(f"  {name:<14} {url}  (API docs {url}/docs, metrics {url}/metrics)")
    lines += [
        f"  {'broker':<14} {settings.kafka_bootstrap_servers}  (Kafka protocol)",
        f"  {'database':<14} {settings.mongodb_uri}",
        f"  {'data':<14} {settings.var_dir.resolve()}",
        "",
        "Give a partner an API key: .venv/bin/familyties partners create 'Partner name'",
        "",
    ]
    return "\n".join(lines)


def start(settings: Settings) -> None:
    prepare(settings)
    print(where_everything_is(settings), flush=True)
    honcho = Path(sys.executable).parent / "honcho"
    os.chdir(ROOT)
    os.execve(
        honcho,
        [str(honcho), "start", "--procfile", "Procfile", "--no-prefix"],
        environment(settings),
    )
