"""Benchmark: sustained POST /v1/referrals against a bare insert_one baseline.

Both run under gunicorn with deploy/gunicorn.conf.py against the same database server,
in the same run, alternating rounds; results are ratios to the baseline, written to
docs/benchmarks.md. Run with `make bench`.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import preload
from bench.report import write_section
from bench.sample import body
from tests import servers

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
WARMED = int(os.environ.get("BENCH_WARMED", "50000"))
WARMUP_SECONDS = 2.0


def load(port: int, headers: dict[str, str], seconds: float, offset: int) -> dict:
    """CLIENTS keep-alive connections posting distinct referrals for `seconds`."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = int(offset) + number * 1_000_000
        mine, codes = [], {}
        while time.perf_counter() < deadline:
            payload = json.dumps(body(n))
            n += 1
            started = time.perf_counter()
            connection.request("POST", "/v1/referrals", payload, headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            codes[response.status] = codes.get(response.status, 0) + 1
        connection.close()
        with lock:
            latencies.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rate": len(latencies) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
        "statuses": statuses,
    }


def cpu_seconds(pid: int) -> float:
    """CPU time used by a process and its children still running (gunicorn's workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    total = 0.0
    for one in pids:
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def measured(port: int, headers: dict, seconds: float, offset: int, web: int, db: int) -> dict:
    """A load run, with the CPU the web processes and the database spent per request."""
    web_before, db_before = cpu_seconds(web), cpu_seconds(db)
    result = load(port, headers, seconds, offset)
    requests = sum(result["statuses"].values())
    result["web_cpu_ms"] = 1000 * (cpu_seconds(web) - web_before) / requests
    result["db_cpu_ms"] = 1000 * (cpu_seconds(db) - db_before) / requests
    return result


def gunicorn(app: str, port: int, env: dict[str, str], log) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            BIN / "gunicorn",
            "--config",
            "deploy/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            app,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    servers.wait_for_port(port, timeout=60)
    return process


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="familyties-bench-"))
    order = [*(["baseline", "intake"] * ROUNDS), "intake + relay"]
    order += ["baseline, warmed", "intake, warmed"]
    results: dict[str, list[dict]] = {name: [] for name in order}
    with servers.broker(workdir) as (bootstrap, _), (workdir / "web.log").open("wb") as log:
        for number, name in enumerate(order):
            result = one_run(name, workdir / f"db-{number}", bootstrap, log, number)
            results[name].append(result)
            print(name, result, flush=True)
    write_report(results)


def one_run(name: str, storage: Path, bootstrap: str, log, number: int) -> dict:
    """One measured run against a database server of its own, started empty, or for a
    "warmed" run holding WARMED referrals already: SecantusDB slows down as it fills, so
    runs sharing one server would not compare."""
    with servers.database(storage, storage.parent) as (uri, database):
        env = os.environ | {
            "MONGODB_URI": uri,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "LOG_LEVEL": "WARNING",
        }
        headers = {"Content-Type": "application/json"}
        app = "bench.baseline_app:create_app()"
        if not name.startswith("baseline"):
            key = (
                subprocess.run(
                    [BIN / "familyties", "partners", "create", "Bench partner"],
                    env=env,
                    cwd=ROOT,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            headers["Authorization"] = f"Bearer {key}"
            app = "services.referral.app:create_app()"
        if name.endswith("warmed"):
            target = "baseline" if name.startswith("baseline") else "referral"
            preload.preloaded(uri, f"familyties_{target}", WARMED)
        port = servers.free_port()
        web = gunicorn(app, port, env, log)
        worker = None
        if name == "intake + relay":
            worker = subprocess.Popen(
                [BIN / "familyties", "worker", "referral"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            offset = (number + 1) * 10_000_000
            load(port, headers, WARMUP_SECONDS, offset)
            return measured(port, headers, SECONDS, offset + 5_000_000, web.pid, database.pid)
        finally:
            for process in (worker, web):
                if process is not None:
                    process.terminate()
                    process.wait(30)


def write_report(results: dict[str, list[dict]]) -> None:
    def median(name: str, field: str) -> float:
        return statistics.median(r[field] for r in results[name])

    base = median("baseline", "rate")
    rows = []
    for name in results:
        rate = median(name, "rate")
        statuses = {}
        for r in results[name]:
            for code, count in r["statuses"].items():
                statuses[code] = statuses.get(code, 0) + count
        rows.append(
            f"| {name} | {rate:.0f} | {rate / base:.0%} | {median(name, 'p50_ms'):.1f} "
            f"| {median(name, 'p99_ms'):.1f} | {median(name, 'web_cpu_ms'):.2f} "
            f"| {median(name, 'db_cpu_ms'):.2f} "
            f"| {', '.join(f'{c}: {n}' for c, n in sorted(statuses.items()))} |"
        )
    ratio = median("intake", "rate") / base
    verdict = "meets" if ratio >= 0.70 else "does NOT meet"
    text = BENCH_TEMPLATE.format(
        clients=CLIENTS,
        seconds=SECONDS,
        rounds=ROUNDS,
        rows="\n".join(rows),
        ratio=ratio,
        verdict=verdict,
        extra_web=median("intake", "web_cpu_ms") - median("baseline", "web_cpu_ms"),
        extra_db=median("intake", "db_cpu_ms") - median("baseline", "db_cpu_ms"),
        date=time.strftime("%Y-%m-%d"),
        warmed=WARMED,
        warm_ratio=median("intake, warmed", "rate") / median("baseline, warmed", "rate"),
    )
    write_section("intake", text)
    print(text)


BENCH_TEMPLATE = """## Intake: sustained `POST /v1/referrals`

Measured by `make bench` (bench/intake.py) on {date}.

- **Baseline**: a bare Flask endpoint (bench/baseline_app.py) that does one `insert_one` of
  the very document intake stores for a referral (with its ReferralReceived in the outbox),
  into the same database server and a collection with the same indexes, under the same
  gunicorn settings (deploy/gunicorn.conf.py).
- **Intake**: the real endpoint: API key, validation of every field, duplicate check,
  idempotency, the insert with its event, the answer.
- **Intake + relay**: the same while the referral worker publishes the events to Kafka,
  as under `make run`; the relay shares the database server.
- **Warmed**: baseline and intake again, each on a database already holding {warmed:,}
  referrals (as a service that has run for a year or two holds).

Every write, the baseline's too, is acknowledged with `w: majority, j: true` on a
database run with `--sync-on-commit`, as intake's are, and retryable writes are off for
both (see README), so the ratio compares like with like.

{clients} keep-alive clients post distinct synthetic referrals for {seconds:.0f} s per
run after a 2 s warm-up; baseline and intake alternate for {rounds} rounds (medians
shown).

| endpoint | req/s | vs baseline | p50 ms | p99 ms | web CPU ms/req | db CPU ms/req | statuses |
|---|---|---|---|---|---|---|---|
{rows}

Intake sustains **{ratio:.0%}** of the baseline: it {verdict} the target of 70%. On the
warmed database it sustains {warm_ratio:.0%} of the warmed baseline.
Per request it spends {extra_web:.1f} ms more web CPU than the baseline (key, validation of
every field, the event checked against the catalogue, the answer) and {extra_db:.1f} ms more
database CPU (the duplicate lookup: on SecantusDB a secondary-index find costs about as
much as the insert).

Each run has a database server of its own, started empty, and a freshly started gunicorn:
SecantusDB slows down as it fills (a second run on the same server measured half the
first's rate), so runs sharing one server would not compare.
"web CPU" is the CPU time of the gunicorn processes per request and "db CPU" that of the
database server, both read from /proc: on this 2-core machine they compete for the same
cores, so together they set the rate.
"""


if __name__ == "__main__":
    main()
