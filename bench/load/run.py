"""London-scale load test (issue 8): victims reading their cases while agencies post events.

    .venv/bin/python -m bench.load --cases 10000 --rate 200 --duration 60 --app-processes 2
    .venv/bin/python -m bench.load --cases 10000 --reuse --step 20,40,80,120,160,200

1. The database: generated afresh by bench/generate (COPY) unless `--reuse` finds one with
   exactly `--cases` cases.
2. Victim sessions, made directly by the portal's own service functions, for `--sessions`
   victims of random cases: an OpenID Connect link such as a proven one-time code leaves, then
   `sign_in_with_links` (the same `_signed_in` a code sign-in ends with: a session, its grant,
   the device, the audit row), then `my_cases` (which gives the case its public id); the real
   engine computes each of those cases' obligations first (the generator does a sample). Signing in
   through the pages is not an option: sign-in codes are throttled per crime reference and per
   client address (app/portal/service.py), by design.
3. `tmc serve --workers N --no-worker` on PostgreSQL (bench/ingest/run.py's process handling).
4. The load generator (bench/load/loadgen.py) in a second process on loopback: open loop,
   Poisson arrivals at `--rate`, a mix of case pages, timeline fragments, timeline polls and
   signed agency events, each victim over their own `--browser-connections` connections (as a
   browser) and agencies over at most `--connections` (see docs/performance.md, "London
   scale", finding 2, and "Session 5"). Meanwhile this process samples CPU and RSS of every
   app process (psutil), of PostgreSQL (all its processes: other databases' work included)
   and of the load generator, over the measured window only.
5. `--step`: one run per rate, stopping after the first whose case-page p95 reaches
   `--p95-limit` ms (or with more than 1% errors); reports the highest rate under it.

Writes bench/results/load-<cases>-<time>.json and .md and prints the table.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg
from sqlalchemy import select

from app.cases.models import Case, Victim
from app.core.config import Settings
from app.core.db import make_engine, make_sessionmaker
from app.obligations import service as obligations_service
from app.portal import repository as portal_repository
from app.portal import service as portal_service
from app.portal.routes import session_cookie_name
from bench.generate import run as generate
from bench.ingest.loadgen import _postgres_cpu
from bench.ingest.run import (
    Server,
    _on_sigterm,
    _signal_group,
    _stop_all,
    free_port,
    machine_facts,
    tmc_command,
)
from bench.load.loadgen import parse_mix

ROOT = Path(__file__).resolve().parents[2]
CASE_P95_TARGET_MS = 50.0  # at 200 requests/s offered (issue 8)
RSS_TARGET_MIB = 150.0  # per web process


# --- the database and the victims ---------------------------------------------------------

def case_count(admin_url: str, name: str) -> int | None:
    try:
        with psycopg.connect(generate.libpq(generate.database_url(admin_url, name)),
                             autocommit=True) as conn:
            return conn.execute('SELECT count(*) FROM "case"').fetchone()[0]
    except psycopg.Error:
        return None


def ensure_database(args: argparse.Namespace) -> dict[str, Any] | None:
    """Generates the database unless --reuse finds one of the right size; the generation's
    figures, or None when reused."""
    if args.reuse and case_count(args.admin_url, args.database) == args.cases:
        print(f"[load] reusing {args.database} ({args.cases:,} cases)", flush=True)
        return None
    gen_args = generate.parse_args(["--cases", str(args.cases), "--database", args.database,
                                    "--admin-url", args.admin_url, "--jobs", str(args.jobs),
                                    "--secret-key", args.secret_key])
    return generate.generate(gen_args)


def settings_for(url: str, secret_key: str) -> Settings:
    return Settings(database_url=url, secret_key=secret_key, in_process_worker=False)


def victim_sessions(settings: Settings, cases: int, count: int, seed: int,
                    tag: str) -> list[dict]:
    """Signed-in portal sessions of `count` victims (V1) of random cases, made by the portal's
    service functions; each with its case's public id and latest timeline entry. Their cases
    get their obligations from the real engine first (what "what happens next" reads)."""
    rng = random.Random(seed)
    picks = sorted(rng.sample(range(1, cases + 1), min(count, cases)))
    engine = make_engine(settings.database_url)
    out = []
    try:
        with make_sessionmaker(engine)() as db:
            for pk in picks:
                # as real ingestion leaves every case (the generator does only a sample)
                obligations_service.recompute(db, db.get(Case, pk))
                db.commit()
                victim = db.scalars(select(Victim).where(Victim.case_pk == pk,
                                                         Victim.victim_ref == "V1")).one()
                out.append(_sign_in(db, settings, victim, f"bench-{tag}-{pk}"))
    finally:
        engine.dispose()
    return out


def _sign_in(db: Any, settings: Settings, victim: Victim, subject: str) -> dict[str, Any]:
    assert victim.email and victim.date_of_birth
    row, _token = portal_service.start_session(db, settings)
    portal_repository.add_oidc_link(db, {
        "subject": subject, "role": "victim", "channel": "email", "address": victim.email,
        "date_of_birth": victim.date_of_birth,
        "identity_key": portal_service.identity_key(settings.secret_key, "victim", "email",
                                                    victim.email, victim.date_of_birth)})
    db.commit()
    signed = portal_service.sign_in_with_links(db, settings, row, subject, device_id=None)
    assert signed.ok and signed.session is not None and signed.token
    held = portal_service.grants(db, signed.session)
    access = next(a for a in portal_service.my_cases(db, held) if a.case.id == victim.case_pk)
    return {"token": signed.token, "csrf": signed.session.csrf_token,
            "public_id": access.public_id,
            "seen": portal_service.latest_entry_pk(db, access)}


def case_references(settings: Settings, count: int, seed: int) -> list[str]:
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as db:
            refs = list(db.scalars(select(Case.crime_reference)))
    finally:
        engine.dispose()
    return random.Random(seed).sample(refs, min(count, len(refs)))


# --- resource sampling --------------------------------------------------------------------

class Sampler:
    """CPU and peak RSS of each app process, PostgreSQL's CPU and the load generator's,
    between start() and stop()."""

    def __init__(self, app_pid: int, loadgen_pid: int) -> None:
        self.app = psutil.Process(app_pid)
        self.loadgen = psutil.Process(loadgen_pid)
        self.peak: dict[int, int] = {}
        self._stop = threading.Event()

    def _processes(self) -> list[psutil.Process]:
        return [self.app, *self.app.children(recursive=True)]

    @staticmethod
    def _cpu(proc: psutil.Process) -> float:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            return t.user + t.system
        return 0.0

    def _sample_rss(self) -> None:
        while not self._stop.wait(0.5):
            for proc in self._processes():
                with contextlib.suppress(psutil.Error):
                    self.peak[proc.pid] = max(self.peak.get(proc.pid, 0),
                                              proc.memory_info().rss)

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.cpu0 = {p.pid: self._cpu(p) for p in self._processes()}
        self.loadgen0 = self._cpu(self.loadgen)
        self.pg0 = _postgres_cpu()
        self.thread = threading.Thread(target=self._sample_rss, daemon=True)
        self.thread.start()

    def stop(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.t0
        processes = self._processes()
        cpu1 = {p.pid: self._cpu(p) for p in processes}
        rss = {}
        for proc in processes:
            with contextlib.suppress(psutil.Error):
                rss[proc.pid] = proc.memory_info().rss
        self._stop.set()
        self.thread.join()
        pg1 = _postgres_cpu()
        per_process = []
        for proc in processes:
            role = _role(proc, self.app.pid)
            per_process.append({
                "pid": proc.pid, "role": role,
                "cpu_percent": round((cpu1.get(proc.pid, 0) - self.cpu0.get(proc.pid, 0))
                                     / wall * 100, 1),
                "rss_mib_end": round(rss.get(proc.pid, 0) / 2**20, 1),
                "rss_mib_peak": round(max(self.peak.get(proc.pid, 0), rss.get(proc.pid, 0))
                                      / 2**20, 1)})
        out: dict[str, Any] = {"wall_s": round(wall, 1), "app_processes": per_process,
                               "loadgen_cpu_percent": round(
                                   (self._cpu(self.loadgen) - self.loadgen0) / wall * 100, 1)}
        if self.pg0 is not None and pg1 is not None:
            out["postgres_cpu_percent"] = round((pg1 - self.pg0) / wall * 100, 1)
        out["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
        return out


def _role(proc: psutil.Process, supervisor_pid: int) -> str:
    """supervisor (uvicorn's parent), web (a worker serving requests) or helper
    (multiprocessing's resource tracker)."""
    if proc.pid == supervisor_pid:
        return "supervisor"
    with contextlib.suppress(psutil.Error):
        if "resource_tracker" in " ".join(proc.cmdline()):
            return "helper"
    return "web"


# --- one rate -------------------------------------------------------------------------------

def run_rate(args: argparse.Namespace, server: Server, plan: Path, rate: float, work: Path,
             run_id: str) -> dict[str, Any]:
    assert server.proc is not None
    out = work / f"loadgen-{rate:g}.json"
    argv = [sys.executable, "-m", "bench.load.loadgen", "--base-url", server.url,
            "--plan", str(plan), "--rate", str(rate), "--duration", str(args.duration),
            "--warmup", str(args.warmup), "--mix", args.mix_text, "--run-id", run_id,
            "--connections", str(args.connections),
            "--browser-connections", str(args.browser_connections),
            "--seed", str(args.seed), "--out", str(out)]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    sampler = Sampler(server.proc.pid, proc.pid)
    resources: dict[str, Any] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "measure-start":
                sampler.start()
            elif line.strip() == "measure-end":
                resources = sampler.stop()
        code = proc.wait(timeout=args.duration + args.warmup + 120)
    except BaseException:
        _signal_group(proc, signal.SIGKILL)
        proc.wait()
        raise
    if code != 0 or not out.exists():
        raise RuntimeError(f"load generator failed with exit status {code}")
    result = json.loads(out.read_text())
    result["resources"] = resources
    return result


def case_p95(result: dict[str, Any]) -> float:
    return result["routes"]["case"]["latency_ms"]["p95"]


def error_share(result: dict[str, Any]) -> float:
    total = result["all"]["requests"]
    return result["all"]["errors"] / total if total else 1.0


def summarise(runs: list[dict[str, Any]], limit_ms: float) -> dict[str, Any]:
    good = [r["offered_rate"] for r in runs if case_p95(r) < limit_ms and error_share(r) <= 0.01]
    at_200 = next((r for r in runs if r["offered_rate"] == 200), None)
    peak_rss = max((p["rss_mib_peak"] for r in runs
                    for p in r["resources"].get("app_processes", []) if p["role"] == "web"),
                   default=None)
    return {
        "highest_rate_with_case_p95_under_limit": max(good) if good else None,
        "case_p95_limit_ms": limit_ms,
        "case_p95_ms_at_200": case_p95(at_200) if at_200 else None,
        "meets_case_p95_at_200": (case_p95(at_200) < CASE_P95_TARGET_MS
                                  and error_share(at_200) <= 0.01) if at_200 else None,
        "web_process_rss_mib_peak": peak_rss,
        "meets_rss_target": peak_rss < RSS_TARGET_MIB if peak_rss is not None else None,
    }


# --- report -------------------------------------------------------------------------------

def _connections_text(cfg: dict[str, Any]) -> str:
    if cfg.get("browser_connections"):
        return (f"each victim over their own {cfg['browser_connections']} connections, agencies "
                f"over at most {cfg['connections']}")
    return f"over at most {cfg['connections']} connections"


def markdown(result: dict[str, Any]) -> str:
    cfg = result["config"]
    lines = [
        f"London-scale load test, {result['started_at']}: {cfg['cases']:,} cases, "
        f"{cfg['app_processes']} app processes, {cfg['sessions']} signed-in victims; "
        f"load average before {result['loadavg_before']}",
        "", f"`{result['command']}`", "",
        f"Mix {cfg['mix']}; {cfg['duration']} s measured after {cfg['warmup']} s warm-up per "
        f"rate; open loop (Poisson arrivals); {_connections_text(cfg)}, "
        "latency from when each request was due.",
        "",
        "| offered/s | route | ok/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in result["runs"]:
        for route, r in run["routes"].items():
            lat = r["latency_ms"]
            lines.append(f"| {run['offered_rate']:g} | {route} | {r['ok_per_s']:.1f} | "
                         f"{lat['p50']} | {lat['p95']} | {lat['p99']} | {lat['max']} | "
                         f"{r['errors']} |")
    lines += ["", "| offered/s | web processes CPU % | web RSS MiB (peak) | supervisor CPU % "
                  "| PostgreSQL CPU % | loadgen CPU % | load average |",
              "|---:|---|---|---:|---:|---:|---|"]
    for run in result["runs"]:
        res = run["resources"]
        web = [p for p in res.get("app_processes", []) if p["role"] == "web"]
        sup = [p for p in res.get("app_processes", []) if p["role"] == "supervisor"]
        lines.append(
            f"| {run['offered_rate']:g} | {', '.join(str(p['cpu_percent']) for p in web)} | "
            f"{', '.join(str(p['rss_mib_peak']) for p in web)} | "
            f"{sup[0]['cpu_percent'] if sup else '-'} | {res.get('postgres_cpu_percent', '-')} "
            f"| {res.get('loadgen_cpu_percent', '-')} | {' '.join(res.get('loadavg', []))} |")
    s = result["summary"]
    if not s:
        return "\n".join(lines) + "\n"
    lines += ["", f"Highest offered rate with case-page p95 under {s['case_p95_limit_ms']:.0f} ms"
                  f" and at most 1% errors: {s['highest_rate_with_case_p95_under_limit']}. "
                  f"Case-page p95 at 200/s: {s['case_p95_ms_at_200']} ms. "
                  f"Peak web process RSS: {s['web_process_rss_mib_peak']} MiB."]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--rate", type=float, default=200.0, help="requests/s offered")
    parser.add_argument("--step", default="",
                        help="comma-separated rates to step through instead of --rate")
    parser.add_argument("--p95-limit", type=float, default=200.0,
                        help="case-page p95 (ms) that ends --step")
    parser.add_argument("--duration", type=float, default=60, help="measured seconds per rate")
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--app-processes", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32,
                        help="the load generator's connections, like a proxy's upstream limit "
                             "(more no longer stall the app: a process refuses portal requests "
                             "beyond 2 per pooled connection with a quick 503)")
    parser.add_argument("--browser-connections", type=int, default=2,
                        help="each victim's own connections, as a browser's (agencies share "
                             "--connections); 0: every request shares --connections, which "
                             "splits the load between app processes unevenly (the few "
                             "connections a moderate rate needs are accepted at the start)")
    parser.add_argument("--sessions", type=int, default=1000, help="signed-in victims")
    parser.add_argument("--mix", default="case=0.4,timeline=0.2,poll=0.2,event=0.2")
    parser.add_argument("--database", default=generate.DATABASE)
    parser.add_argument("--admin-url", default=generate.ADMIN_URL)
    parser.add_argument("--reuse", action="store_true",
                        help="use the database as it is if it has exactly --cases cases")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--jobs", type=int, default=1, help="generation: row-building processes")
    parser.add_argument("--secret-key", default=generate.BENCH_SECRET_KEY)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    parse_mix(args.mix)  # a clear error now rather than in the load process
    args.mix_text = args.mix
    args.rates = [float(r) for r in args.step.split(",") if r.strip()] or [args.rate]
    if not args.database.startswith("tmc_bench"):
        parser.error("--database must start with tmc_bench")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    atexit.register(_stop_all)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    work = args.results_dir / f"load-{args.cases}-{stamp}"
    work.mkdir(parents=True, exist_ok=True)
    loadavg_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    generated = ensure_database(args)
    url = generate.database_url(args.admin_url, args.database)
    settings = settings_for(url, args.secret_key)
    started = time.perf_counter()
    sessions = victim_sessions(settings, args.cases, args.sessions, args.seed, stamp)
    print(f"[load] {len(sessions)} victim sessions in {time.perf_counter() - started:.0f} s",
          flush=True)
    secrets = generate.agency_secrets(url, args.secret_key)
    plan = work / "plan.json"  # session tokens and a signing secret: owner-only
    plan.touch(mode=0o600)
    plan.write_text(json.dumps({
        "sessions": sessions, "references": case_references(settings, 5000, args.seed),
        "police_agency_id": "met-police", "police_secret": secrets["met-police"],
        "cookie_name": session_cookie_name(settings)}))
    env = dict(os.environ, TMC_DATABASE_URL=url, TMC_SECRET_KEY=args.secret_key,
               TMC_ENV="development")
    port = free_port()
    server = Server("app", [*tmc_command(), "serve", "--host", "127.0.0.1", "--port", str(port),
                            "--workers", str(args.app_processes), "--no-worker"],
                    env, port, work / "app.log")
    runs = []
    try:
        server.start()
        server.wait_ready()
        for rate in args.rates:
            print(f"[load] {rate:g} requests/s offered for {args.duration:g} s ...", flush=True)
            result = run_rate(args, server, plan, rate, work, f"{stamp}-{rate:g}")
            runs.append(result)
            case = result["routes"].get("case", {})
            print(f"[load]   case page p50 {case.get('latency_ms', {}).get('p50')} ms, p95 "
                  f"{case.get('latency_ms', {}).get('p95')} ms; all errors "
                  f"{result['all']['errors']}", flush=True)
            if "case" in result["routes"] and (case_p95(result) >= args.p95_limit
                                               or error_share(result) > 0.01):
                break
    finally:
        server.stop()
        plan.unlink(missing_ok=True)
        if args.drop:
            generate.drop(args.admin_url, args.database)
    result = {
        "started_at": stamp,
        "command": " ".join(["python -m bench.load",
                             *map(shlex.quote, argv if argv is not None else sys.argv[1:])]),
        "config": {"cases": args.cases, "app_processes": args.app_processes,
                   "sessions": len(sessions), "mix": args.mix, "duration": args.duration,
                   "connections": args.connections,
                   "browser_connections": args.browser_connections,
                   "warmup": args.warmup, "rates": args.rates, "database": args.database},
        "loadavg_before": loadavg_before, "generate": generated,
        "machine": machine_facts(_pg_version(url)), "runs": runs,
        "summary": summarise(runs, args.p95_limit) if runs and "case" in runs[0]["routes"]
        else {},
    }
    path = args.results_dir / f"load-{args.cases}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2))
    (args.results_dir / f"load-{args.cases}-{stamp}.md").write_text(markdown(result))
    print(markdown(result))
    print(f"[load] wrote {path}")
    return 0


def _pg_version(url: str) -> str:
    with contextlib.suppress(psycopg.Error), \
            psycopg.connect(generate.libpq(url), autocommit=True) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]
    return "?"
