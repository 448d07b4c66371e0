"""Notification benchmark on PostgreSQL: event accepted (202) -> provider called, and
throughput, with 1 and 3 `tmc worker` processes against the local Twilio-compatible server.

    .venv/bin/python -m bench.notify.run [--events 600] [--rate 40] [--cases 1500]
                                         [--backlog 1500] [--threads 2]

Per worker count W in (1, 3):
- latency: W workers running; signed events are posted at --rate events/s, each to a different
  victim's case; for each, the time from the 202 to the provider receiving the SMS;
- throughput: workers stopped, --backlog events ingested (so their SMS are queued), then W
  workers started; notifications per second from the first provider call to the last.
Writes bench/results/notify-<time>.json and .md and prints the table. Needs PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from standardwebhooks.webhooks import Webhook

from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, fake_twilio

ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("TMC_TEST_POSTGRES_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CASES = 1500  # victims with distinct numbers: no digest merges two events' messages
TMC = str(Path(sys.executable).with_name("tmc"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scratch_database(name: str = "tmc_bench_notify") -> str:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def number(i: int) -> str:
    return f"+44770090{i:04d}"[:13] if i < 1000 else f"+4477009{i:05d}"


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.url = scratch_database()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env: dict[str, str] = {}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs = ROOT / "var" / "bench-notify"
        self.logs.mkdir(parents=True, exist_ok=True)

    def run_cmd(self, *argv: str) -> str:
        return subprocess.run([TMC, *argv], env=self.env, cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout

    def spawn(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        sink = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen([TMC, *argv], env=self.env, cwd=ROOT, stdout=sink, stderr=sink)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            print(f"worker {proc.pid} ignored SIGTERM for 60 s: killed", file=sys.stderr)
            proc.kill()
            proc.wait()

    def post(self, client: httpx.Client, secret: str, event_type: str, ref: str,
             data: dict[str, Any], webhook_id: str) -> float:
        body = json.dumps({"type": event_type, "occurred_at": "2026-11-20T09:00:00Z",
                           "crime_reference": ref, "data": data})
        now = datetime.now(UTC)
        headers = {"webhook-id": webhook_id, "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
                   "content-type": "application/json"}
        response = client.post(f"{self.base}/webhooks/agencies/met-police/events",
                               content=body, headers=headers)
        assert response.status_code == 202, response.text
        return time.time()

    def delivered_count(self, engine: Any) -> int:
        with engine.connect() as connection:
            return connection.execute(text(
                "SELECT count(*) FROM notification WHERE status <> 'created'")).scalar_one()

    def main(self) -> dict[str, Any]:
        with fake_twilio() as fake:
            self.env = {k: v for k, v in os.environ.items() if not k.startswith("TMC_")} | {
                "TMC_DATABASE_URL": self.url, "TMC_BASE_URL": self.base,
                "TMC_SMS_BACKEND": "twilio", "TMC_TWILIO_API_BASE_URL": fake.base_url,
                "TMC_TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TMC_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "TMC_TWILIO_FROM_NUMBER": FROM_NUMBER, "TMC_NOTIFICATION_DIGEST_SECONDS": "0",
                "TMC_SMS_HOURLY_LIMIT": "100000", "TMC_SMS_IDENTICAL_HOURLY_LIMIT": "100000",
                "TMC_ENV": "test"}
            self.run_cmd("migrate")
            secret = json.loads(self.run_cmd("agency", "add", "met-police", "--kind", "police",
                                             "--name", "Metropolitan Police Service"))["secret"]
            server = self.spawn("serve", "serve", "--port", str(self.port), "--no-worker")
            engine = create_engine(self.url)
            results: dict[str, Any] = {"runs": []}
            try:
                with httpx.Client(timeout=30) as client:
                    self._wait_ready(client)
                    for i in range(self.args.cases):
                        self.post(client, secret, "case.opened", f"B/{i}", {
                            "crime_type": "Burglary", "offence_group": "burglary",
                            "borough": "Hackney", "reported_at": "2026-11-19T18:30:00Z",
                            "victims": [{"victim_ref": "V1", "given_name": "Alex",
                                         "family_name": "Testperson", "mobile": number(i),
                                         "contact": {"email_allowed": False}}]},
                            f"open-{i}")
                    for workers in (1, 3):
                        results["runs"].append(self.one_run(client, secret, fake, engine,
                                                            workers))
            finally:
                for proc in self.procs:
                    if proc.poll() is None:
                        proc.kill()
                server.wait()
                engine.dispose()
        return results

    def _wait_ready(self, client: httpx.Client) -> None:
        for _ in range(300):
            try:
                if client.get(f"{self.base}/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("tmc serve did not start")

    def start_workers(self, n: int, tag: str) -> list[subprocess.Popen[bytes]]:
        procs = [self.spawn(f"worker-{tag}-{k}", "worker", "--concurrency",
                            str(self.args.threads))
                 for k in range(n)]
        logs = [self.logs / f"worker-{tag}-{k}.log" for k in range(n)]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(
                log.exists() and "worker started" in log.read_text() for log in logs):
            time.sleep(0.1)
        return procs

    def unsent(self, engine: Any) -> int:
        with engine.connect() as connection:
            return connection.execute(text(
                "SELECT count(*) FROM notification WHERE status = 'created'")).scalar_one()

    def drain(self, fake: Any, engine: Any, workers: int) -> None:
        procs = self.start_workers(workers, f"drain-{workers}")
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                left = connection.execute(text(
                    "SELECT count(*) FROM notification WHERE status = 'created'")).scalar_one()
            if left == 0:
                break
            time.sleep(0.2)
        for proc in procs:
            self.stop(proc)

    def one_run(self, client: httpx.Client, secret: str, fake: Any, engine: Any,
                workers: int) -> dict[str, Any]:
        self.drain(fake, engine, workers)  # whatever earlier steps queued
        # Latency: workers running, events at a steady rate.
        procs = self.start_workers(workers, f"latency-{workers}")
        time.sleep(1.0)  # LISTEN set up
        start_count = len(fake.received)
        accepted: list[tuple[str, float, float]] = []
        gap = 1.0 / self.args.rate
        t0 = time.monotonic()
        for k in range(self.args.events):
            i = k % self.args.cases
            posted = time.time()
            at = self.post(client, secret, "investigation.update", f"B/{i}",
                           {"message": "bench"}, f"lat-{workers}-{k}")
            accepted.append((number(i), posted, at))
            pause = t0 + (k + 1) * gap - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        deadline = time.monotonic() + 120
        while self.unsent(engine) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        for proc in procs:
            self.stop(proc)
        arrivals: dict[str, list[float]] = {}
        for item in fake.received[start_count:]:
            arrivals.setdefault(item.to, []).append(item.at)
        latencies = []
        for to, posted, at in accepted:
            # The worker may call the provider before the 202 reaches us (it is woken at the
            # commit): such a message counts as 0 ms, not as missing.
            later = [a for a in arrivals.get(to, []) if a >= posted]
            if later:
                latencies.append(max(0.0, min(later) - at))
                arrivals[to].remove(min(later))
        # Throughput: a backlog, then the workers.
        assert self.args.backlog <= self.args.cases, "more would fold events into digests"
        for k in range(self.args.backlog):
            i = k % self.args.cases
            self.post(client, secret, "investigation.update", f"B/{i}", {"message": "bench"},
                      f"tp-{workers}-{k}")
        before = len(fake.received)
        procs = self.start_workers(workers, f"throughput-{workers}")
        deadline = time.monotonic() + 600
        while self.unsent(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        for proc in procs:
            self.stop(proc)
        times = sorted(item.at for item in fake.received[before:])
        # Each backlog event went to a different victim (backlog <= CASES): one SMS each.
        rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
        return {"workers": workers, "events": len(accepted), "measured": len(latencies),
                "p50_ms": round(quantiles[49] * 1000, 1), "p95_ms": round(quantiles[94] * 1000, 1),
                "p99_ms": round(quantiles[98] * 1000, 1), "rate": self.args.rate,
                "slowest_ms": [round(x * 1000) for x in sorted(latencies)[-10:]],
                "backlog": self.args.backlog, "sent": len(times),
                "throughput_per_s": round(rate, 1)}


def markdown(results: dict[str, Any]) -> str:
    lines = [f"| workers (x{results['threads']} threads) | events | p50 | p95 | p99 | backlog "
             "| notifications/s |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for run in results["runs"]:
        lines.append(f"| {run['workers']} | {run['measured']}/{run['events']} at "
                     f"{run['rate']}/s | {run['p50_ms']} ms | {run['p95_ms']} ms | "
                     f"{run['p99_ms']} ms | {run['sent']}/{run['backlog']} | "
                     f"{run['throughput_per_s']} |")
    return "\n".join(lines)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--threads", type=int, default=2,
                        help="tmc worker --concurrency (each thread sends a chunk at once)")
    parser.add_argument("--cases", type=int, default=CASES)
    parser.add_argument("--backlog", type=int, default=CASES)
    parser.add_argument("--rate", type=float, default=40.0)
    args = parser.parse_args()
    load_before = os.getloadavg()
    results = Bench(args).main()
    results |= {"when": datetime.now(UTC).isoformat(), "cpus": os.cpu_count(),
                "threads": args.threads,
                "load_average_before": load_before, "load_average": os.getloadavg()}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"notify-{stamp}"
    out.with_suffix(".json").write_text(json.dumps(results, indent=2))
    table = markdown(results) + "\n\nload average (1, 5, 15 min) before: {} after: {}".format(
        *(" / ".join(f"{x:.1f}" for x in load)
          for load in (load_before, results["load_average"])))
    out.with_suffix(".md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    cli()
