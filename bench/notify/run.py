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


def worker_steps(trace_file: Path) -> dict[int, dict[str, Any]]:
    """Per notification id, from a bench.notify.trace_worker trace: when its claim
    transaction ended, its send started and ended, and its outcome was recorded (ms after the
    claim's start, which the database rows give)."""
    claims: dict[int, dict[str, Any]] = {}
    for line in trace_file.read_text().splitlines():
        item = json.loads(line)
        for pk in item.get("ids", ()):
            mark = claims.setdefault(pk, {})
            if item["step"] == "claim":
                mark["claim"] = (item["start"], item["end"])
            elif item["step"] in ("send", "record"):
                mark[item["step"]] = (item["start"], item["end"])
    out: dict[int, dict[str, Any]] = {}
    for pk, mark in claims.items():
        if "claim" not in mark:
            continue
        zero = mark["claim"][0]
        out[pk] = {f"{step}_{edge}_ms": round((mark[step][i] - zero) * 1000)
                   for step in ("claim", "send", "record") if step in mark
                   for i, edge in enumerate(("start", "end"))}
    return out


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

    def spawn(self, name: str, *argv: str, env: dict[str, str] | None = None
              ) -> subprocess.Popen[bytes]:
        sink = (self.logs / f"{name}.log").open("ab")
        command = [TMC, *argv]
        if env and "TMC_BENCH_TRACE" in env:
            command = [sys.executable, "-m", "bench.notify.trace_worker", *argv[1:]]
        proc = subprocess.Popen(command, env=env or self.env, cwd=ROOT, stdout=sink,
                                stderr=sink)
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

    def start_workers(self, n: int, tag: str, trace: Path | None = None
                      ) -> list[subprocess.Popen[bytes]]:
        env = self.env | {"TMC_BENCH_TRACE": str(trace)} if trace else None
        logs = [self.logs / f"worker-{tag}-{k}.log" for k in range(n)]
        for log in logs:
            log.unlink(missing_ok=True)
        procs = [self.spawn(f"worker-{tag}-{k}", "worker", "--concurrency",
                            str(self.args.threads), env=env)
                 for k in range(n)]
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

    def trace(self, engine: Any, received: list[Any], matched: list[tuple[float, float, float]],
              trace_file: Path | None) -> dict[str, Any]:
        """Where each latency-phase message's time went, from the rows the app wrote: queued
        (`created_at`, in the event's transaction), claimed (`sent_at`, the claim's start),
        the provider's arrival, and the claim it came in (worker thread, batch size)."""
        at_by_sid = {item.sid: item.at for item in received}
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT n.provider_ref, n.id, extract(epoch FROM n.created_at),"
                " extract(epoch FROM a.started_at), a.worker,"
                " count(*) OVER (PARTITION BY a.worker, a.started_at)"
                " FROM notification n JOIN notification_attempt a"
                " ON a.notification_pk = n.id AND a.number = 1"
                " WHERE n.provider_ref = ANY(:sids)"), {"sids": list(at_by_sid)}).all()
        by_arrival = {at_by_sid[ref]: (pk, float(created), float(claimed), worker, batch)
                      for ref, pk, created, claimed, worker, batch in rows}
        steps_of = worker_steps(trace_file) if trace_file else {}
        steps = []
        first = min((accepted_at for _, accepted_at, _ in matched), default=0.0)
        for latency, accepted_at, provider_at in matched:
            found = by_arrival.get(provider_at)
            if found is None:
                continue
            pk, created, claimed, worker, batch = found
            steps.append({"id": pk, "at_s": round(accepted_at - first, 2),
                          **steps_of.get(pk, {}),"latency_ms": round(latency * 1000),
                          "queued_before_202_ms": round((accepted_at - created) * 1000),
                          "queued_to_claim_ms": round((claimed - created) * 1000),
                          "claim_to_provider_ms": round((provider_at - claimed) * 1000),
                          "worker": worker.split(":", 1)[1], "batch": batch})
        steps.sort(key=lambda step: step["latency_ms"])

        def p95(key: str) -> float:
            values = sorted(step[key] for step in steps)
            return values[int(0.95 * (len(values) - 1))] if values else 0.0

        return {"p95_queued_to_claim_ms": p95("queued_to_claim_ms"),
                "p95_claim_to_provider_ms": p95("claim_to_provider_ms"),
                "slowest": steps[-10:]}

    def one_run(self, client: httpx.Client, secret: str, fake: Any, engine: Any,
                workers: int) -> dict[str, Any]:
        self.drain(fake, engine, workers)  # whatever earlier steps queued
        # Latency: workers running, events at a steady rate.
        trace_file = self.logs / f"trace-{workers}.jsonl" if self.args.trace else None
        if trace_file:
            trace_file.unlink(missing_ok=True)
        procs = self.start_workers(workers, f"latency-{workers}", trace_file)
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
        matched: list[tuple[float, float, float]] = []  # (latency, 202 at, provider at)
        for to, posted, at in accepted:
            # The worker may call the provider before the 202 reaches us (it is woken at the
            # commit): such a message counts as 0 ms, not as missing.
            later = [a for a in arrivals.get(to, []) if a >= posted]
            if later:
                latencies.append(max(0.0, min(later) - at))
                matched.append((latencies[-1], at, min(later)))
                arrivals[to].remove(min(later))
        trace = self.trace(engine, fake.received[start_count:], matched, trace_file)
        # Throughput: a backlog, then the workers.
        assert self.args.backlog <= self.args.cases, "more would fold events into digests"
        for k in range(self.args.backlog):
            i = k % self.args.cases
            self.post(client, secret, "investigation.update", f"B/{i}", {"message": "bench"},
                      f"tp-{workers}-{k}")
        before = len(fake.received)
        tp_trace = self.logs / f"trace-throughput-{workers}.jsonl" if self.args.trace else None
        if tp_trace:
            tp_trace.unlink(missing_ok=True)
        procs = self.start_workers(workers, f"throughput-{workers}", tp_trace)
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
                "trace": trace, "backlog": self.args.backlog, "sent": len(times),
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
    for run in results["runs"]:
        trace = run["trace"]
        lines.append(f"\n{run['workers']} worker(s): p95 queued->claim "
                     f"{trace['p95_queued_to_claim_ms']} ms, claim->provider "
                     f"{trace['p95_claim_to_provider_ms']} ms; slowest:")
        lines += [f"    {step}" for step in trace["slowest"]]
    return "\n".join(lines)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--threads", type=int, default=2,
                        help="tmc worker --concurrency (each thread sends a chunk at once)")
    parser.add_argument("--cases", type=int, default=CASES)
    parser.add_argument("--backlog", type=int, default=CASES)
    parser.add_argument("--rate", type=float, default=40.0)
    parser.add_argument("--trace", action="store_true",
                        help="latency phase under bench.notify.trace_worker: per-step timings"
                             " of the slowest messages (var/bench-notify/trace-W.jsonl)")
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
