"""Ingestion benchmark: the service against the floor, on PostgreSQL, in one run.

    .venv/bin/python -m bench.ingest.run                  # 2 app processes, 20,000 events
    .venv/bin/python -m bench.ingest.run --workers 3 --rounds 3

Creates a scratch database (dropped and re-created each run), migrates it with `tmc migrate`,
registers a police, a CPS and a court agency with `tmc agency add`, starts `tmc serve --workers N
--no-worker` and the floor (bench/ingest/floor.py: verify signature + insert raw body) with the
same N uvicorn processes, waits for /readyz, then runs the load generator (bench/ingest/loadgen.py,
a separate process) against each in turn: a warm-up, then a fixed number of events at a fixed
concurrency, closed loop. Writes bench/results/ingest-<time>.json and .md and prints the table.
Servers are killed on exit, on failure and on Ctrl-C.

Needs PostgreSQL (trust or password in --admin-url) and, in the venv, psycopg-pool (the floor),
aiohttp (the load generator; falls back to httpx) and psutil (CPU/RSS; optional). py-spy for
--profile.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import platform
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

if not __package__:  # run as a file: make `bench.ingest` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.ingest.floor import EFFECTS_DDL, TABLE_DDL
from bench.ingest.journeys import AGENCIES

ROOT = Path(__file__).resolve().parents[2]
TARGET_RATE = 1000.0  # events/s, issue 2 item 8
TARGET_RATIO = 0.5  # of the floor's rate


# --- processes ------------------------------------------------------------------------------

class Server:
    """A server in its own process group, so that it and its workers die together."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int,
                 log_path: Path) -> None:
        self.name, self.argv, self.env, self.port, self.log_path = name, argv, env, port, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        _LIVE.append(self)

    def wait_ready(self, timeout: float = 90.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n"
                                   + self.log_tail())
            with contextlib.suppress(OSError), \
                    urllib.request.urlopen(self.url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s:\n" + self.log_tail())

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        _signal_group(self.proc, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            _signal_group(self.proc, signal.SIGKILL)
            self.proc.wait(timeout=5)


_LIVE: list[Server] = []


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _stop_all() -> None:
    for server in reversed(_LIVE):
        with contextlib.suppress(Exception):
            server.stop()


def _on_sigterm(_signum: int, _frame: Any) -> None:
    raise SystemExit(143)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- database and agencies ------------------------------------------------------------------

def db_urls(admin_url: str, dbname: str) -> tuple[str, str]:
    """(libpq URL, SQLAlchemy URL) of the scratch database on the admin URL's server."""
    import psycopg

    info = psycopg.conninfo.conninfo_to_dict(admin_url.replace("+psycopg", ""))
    info["dbname"] = dbname
    user = info.get("user", "postgres")
    password = f":{info['password']}" if info.get("password") else ""
    host, port = info.get("host", "127.0.0.1"), info.get("port", "5432")
    plain = f"postgresql://{user}{password}@{host}:{port}/{dbname}"
    return plain, plain.replace("postgresql://", "postgresql+psycopg://", 1)


def recreate_database(admin_url: str, dbname: str) -> str:
    import psycopg

    with psycopg.connect(admin_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')
        return conn.execute("SHOW server_version").fetchone()[0]


def drop_database(admin_url: str, dbname: str) -> None:
    import psycopg

    with psycopg.connect(admin_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def tmc_command() -> list[str]:
    script = Path(sys.executable).with_name("tmc")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def run_tmc(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([*tmc_command(), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"tmc {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def register_agencies(env: dict[str, str]) -> dict[str, str]:
    secrets = {}
    for agency_id, kind, name in AGENCIES:
        out = json.loads(run_tmc(["agency", "add", agency_id, "--kind", kind, "--name", name],
                                 env))
        secrets[agency_id] = out["secret"]
    return secrets


def count_rows(plain_url: str) -> dict[str, int]:
    import psycopg

    counts = {}
    with psycopg.connect(plain_url, autocommit=True) as conn:
        for table in ("received_event", "timeline_entry", "case", "bench_floor_event",
                      "bench_effects_event", "bench_floor_timeline"):
            counts[table] = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    return counts


# --- the machine ----------------------------------------------------------------------------

def machine_facts(pg_version: str) -> dict[str, Any]:
    def meminfo() -> str:
        with contextlib.suppress(OSError):
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 2**20:.1f} GiB"
        return "?"

    def cpu_model() -> str:
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        return platform.processor() or "?"

    versions = {}
    for package in ("fastapi", "starlette", "uvicorn", "sqlalchemy", "psycopg", "pydantic",
                    "aiohttp", "httpx", "psutil", "psycopg-pool"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return {
        "nproc": len(os.sched_getaffinity(0)), "cpu": cpu_model(), "memory": meminfo(),
        "kernel": platform.release(), "python": platform.python_version(),
        "postgresql": pg_version, "packages": versions,
    }


# --- one run --------------------------------------------------------------------------------

def run_loadgen(args: argparse.Namespace, server: Server, secrets_file: Path, prefix: str,
                out: Path, timeout: float) -> dict[str, Any]:
    assert server.proc is not None
    argv = [sys.executable, "-m", "bench.ingest.loadgen", "--name", server.name,
            "--base-url", server.url, "--secrets-file", str(secrets_file),
            "--events", str(args.events), "--warmup", str(args.warmup),
            "--concurrency", str(args.concurrency), "--prefix", prefix, "--seed", str(args.seed),
            "--timeout", str(max(10.0, timeout)), "--watch-pid", str(server.proc.pid),
            "--out", str(out)]
    proc = subprocess.Popen(argv, cwd=ROOT, start_new_session=True)
    try:
        code = proc.wait(timeout=timeout + 60)
    except BaseException:
        _signal_group(proc, signal.SIGKILL)
        proc.wait()
        raise
    if code not in (0, 3) or not out.exists():
        raise RuntimeError(f"load generator failed with exit status {code}")
    return json.loads(out.read_text())


def start_profiler(server: Server, path: Path) -> subprocess.Popen[bytes]:
    assert server.proc is not None
    argv = ["py-spy", "record", "--pid", str(server.proc.pid), "--subprocesses", "--rate", "250",
            "--nonblocking", "--format", "raw", "--output", str(path)]
    py_spy = Path(sys.executable).with_name("py-spy")
    if py_spy.exists():
        argv[0] = str(py_spy)
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop_profiler(proc: subprocess.Popen[bytes]) -> None:
    _signal_group(proc, signal.SIGINT)  # py-spy writes its output on SIGINT
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    by_target: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_target.setdefault(run["target"], []).append(run)
    out: dict[str, Any] = {}
    for target, items in by_target.items():
        measured = [r["measured"] for r in items]
        out[target] = {
            "rounds": len(items),
            "events_per_s_median": statistics.median(m["events_per_s"] for m in measured),
            "events_per_s_all": [m["events_per_s"] for m in measured],
            "p50_ms_median": statistics.median(m["latency_ms"]["p50"] for m in measured),
            "p95_ms_median": statistics.median(m["latency_ms"]["p95"] for m in measured),
            "p99_ms_median": statistics.median(m["latency_ms"]["p99"] for m in measured),
            "errors": sum(m["errors"] for m in measured),
        }
    if "service" in out and "floor" in out:
        rounds = {}
        for run in runs:
            rounds.setdefault(run["round"], {})[run["target"]] = run["measured"]["events_per_s"]
        paired = [r["service"] / r["floor"] for r in rounds.values()
                  if "service" in r and "floor" in r and r["floor"]]
        service_rate = out["service"]["events_per_s_median"]
        out["ratio_service_to_floor"] = round(statistics.median(paired), 3) if paired else None
        out["ratio_per_round"] = [round(x, 3) for x in paired]
        out["meets_rate_target"] = service_rate >= TARGET_RATE and out["service"]["errors"] == 0
        out["meets_ratio_target"] = bool(paired) and statistics.median(paired) >= TARGET_RATIO
    if "effects" in out and "floor" in out and out["floor"]["events_per_s_median"]:
        out["ratio_effects_to_floor"] = round(out["effects"]["events_per_s_median"]
                                              / out["floor"]["events_per_s_median"], 3)
    return out


def markdown(result: dict[str, Any]) -> str:
    cfg, machine = result["config"], result["machine"]
    lines = [
        f"Ingestion benchmark, {result['started_at']} "
        f"({machine['nproc']} cores, {machine['memory']}, PostgreSQL {machine['postgresql']}, "
        f"Python {machine['python']}; load average before {result['loadavg_before']})",
        "",
        f"`{result['command']}`",
        "",
        f"{cfg['workers']} app processes each, {cfg['events']} events measured after "
        f"{cfg['warmup']} warm-up, concurrency {cfg['concurrency']}, "
        f"~{result['runs'][0]['events_per_case']} events per case.",
        "",
        "| round | endpoint | events/s | p50 ms | p95 ms | p99 ms | errors | app CPU ms/event "
        "| app cores | PostgreSQL CPU ms/event | loadgen cores | app RSS MiB (peak, total) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in result["runs"]:
        m, r = run["measured"], run.get("resources") or {}
        lat = m["latency_ms"]
        lines.append(
            f"| {run['round']} | {run['target']} | {m['events_per_s']:.0f} | {lat['p50']:.1f} | "
            f"{lat['p95']:.1f} | {lat['p99']:.1f} | {m['errors']} | "
            f"{r.get('app_cpu_ms_per_event', '-')} | {r.get('app_cores', '-')} | "
            f"{r.get('postgres_cpu_ms_per_event', '-')} | "
            f"{r.get('loadgen_cores', '-')} | {r.get('app_rss_mib_total_peak', '-')} |")
    lines += ["", "App CPU and RSS: the server's whole process tree (supervisor and workers). "
                  "PostgreSQL CPU: the whole server, other databases' work included. "
                  "Both over the measured phase only."]
    summary = result["summary"]
    if summary.get("ratio_service_to_floor") is not None:
        lines += [
            "",
            f"Service / floor throughput: **{summary['ratio_service_to_floor']:.2f}** "
            f"(median of per-round ratios {summary['ratio_per_round']}). "
            f"Targets: >= {TARGET_RATE:.0f} events/s with no errors: "
            f"{'met' if summary['meets_rate_target'] else 'NOT met'}; "
            f">= {TARGET_RATIO:.2f} of the floor: "
            f"{'met' if summary['meets_ratio_target'] else 'NOT met'}.",
        ]
    if summary.get("ratio_effects_to_floor") is not None:
        ratio = summary["ratio_effects_to_floor"]
        lines += ["", f"Effects floor / floor throughput: **{ratio:.2f}**"
                      " (the least a synchronous receiver that applies an event's effects must "
                      "do, against the least a durable accept must do)."]
    counts = result.get("db_counts")
    if counts:
        lines += ["", f"Rows after the run: {counts}; expected per endpoint "
                      f"{result['expected_rows_per_endpoint']} (warm-up included)."]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest.run",
        description="Signed-event ingestion throughput and latency: service vs floor.")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes of each server")
    parser.add_argument("--events", type=int, default=20_000, help="measured events per target")
    parser.add_argument("--warmup", type=int, default=2_000, help="warm-up events per target")
    parser.add_argument("--concurrency", type=int, default=48, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate service and floor this many times")
    parser.add_argument("--targets", default="service,floor",
                        help="comma-separated: service, floor, effects (the floor app in "
                             "--floor-mode effects, as a third endpoint in the same run)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="an existing database used to create the scratch one")
    parser.add_argument("--db", default="tmc_bench", help="scratch database (dropped!)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop it at the end")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds for the whole run")
    parser.add_argument("--service-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for `tmc serve`, e.g. TMC_DB_POOL_SIZE=20")
    parser.add_argument("--floor-mode", choices=["plain", "tx", "notify", "effects"],
                        default="plain",
                        help="experiment: plain = one autocommit INSERT (the floor); tx = "
                             "BEGIN/INSERT/SELECT 1/COMMIT; notify = BEGIN/INSERT/NOTIFY/COMMIT; "
                             "effects = the event, case, timeline and notification rows in one "
                             "transaction, hand-written SQL (an upper bound for the service)")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the service's processes (slows them: not for numbers)")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if not set(targets) <= {"service", "floor", "effects"}:
        raise SystemExit("--targets takes service, floor and/or effects")
    signal.signal(signal.SIGTERM, _on_sigterm)
    atexit.register(_stop_all)
    deadline = time.monotonic() + args.timeout

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results_dir = args.results_dir
    work = results_dir / f"ingest-{stamp}"
    work.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python -m bench.ingest.run"] + [
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])])

    print(f"[ingest] scratch database {args.db}; logs under {work}", flush=True)
    pg_version = recreate_database(args.admin_url, args.db)
    plain_url, sa_url = db_urls(args.admin_url, args.db)
    env = dict(os.environ, TMC_DATABASE_URL=sa_url)
    for item in args.service_env:
        key, _, value = item.partition("=")
        env[key] = value
    try:
        run_tmc(["migrate"], env)
        secrets = register_agencies(env)
        import psycopg

        with psycopg.connect(plain_url, autocommit=True) as conn:
            conn.execute(TABLE_DDL)
            conn.execute(EFFECTS_DDL)
        secrets_file = work / "secrets.json"
        secrets_file.write_text(json.dumps(secrets))
        secrets_file.chmod(0o600)

        servers = {}
        if "service" in targets:
            port = free_port()
            servers["service"] = Server(
                "service", [*tmc_command(), "serve", "--host", "127.0.0.1", "--port", str(port),
                            "--workers", str(args.workers), "--no-worker"],
                env, port, work / "service.log")
        for name, mode in (("floor", args.floor_mode), ("effects", "effects")):
            if name not in targets:
                continue
            port = free_port()
            # 5 (up to 10) connections per process: with the service's 2 x 20 and both floors,
            # the run stays well under PostgreSQL's default max_connections (100).
            floor_env = dict(os.environ, FLOOR_DATABASE_URL=plain_url, FLOOR_POOL_SIZE="5",
                             FLOOR_SECRETS_FILE=str(secrets_file), FLOOR_MODE=mode)
            servers[name] = Server(
                name, [sys.executable, "-m", "uvicorn", "bench.ingest.floor:app",
                       "--host", "127.0.0.1", "--port", str(port), "--workers",
                       str(args.workers), "--no-access-log"],
                floor_env, port, work / f"{name}.log")
        for server in servers.values():
            server.start()
        for server in servers.values():
            server.wait_ready()
            print(f"[ingest] {server.name} ready at {server.url} "
                  f"({args.workers} processes)", flush=True)

        loadavg_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        runs = []
        for round_no in range(1, args.rounds + 1):
            for target in targets:
                remaining = deadline - time.monotonic()
                if remaining < 20:
                    raise RuntimeError("out of time (--timeout)")
                server = servers[target]
                print(f"[ingest] round {round_no}: {target} ...", flush=True)
                profiler = None
                if args.profile and target == "service":
                    profiler = start_profiler(server, work / f"service-r{round_no}.pyspy.txt")
                try:
                    result = run_loadgen(args, server, secrets_file, f"R{round_no}",
                                         work / f"{target}-r{round_no}.json", remaining)
                finally:
                    if profiler is not None:
                        stop_profiler(profiler)
                result["round"] = round_no
                runs.append(result)
                m = result["measured"]
                print(f"[ingest]   {m['events_per_s']:.0f} events/s, p50 "
                      f"{m['latency_ms']['p50']} ms, p95 {m['latency_ms']['p95']} ms, p99 "
                      f"{m['latency_ms']['p99']} ms, errors {m['errors']}"
                      + (f" {m['statuses']} {m['error_samples'][:2]}" if m["errors"] else ""),
                      flush=True)
        loadavg_after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        for server in servers.values():
            server.stop()
        counts = count_rows(plain_url)
    finally:
        _stop_all()
        if not args.keep_db:
            with contextlib.suppress(Exception):
                drop_database(args.admin_url, args.db)

    result = {
        "started_at": stamp, "command": command,
        "config": {"workers": args.workers, "events": args.events, "warmup": args.warmup,
                   "concurrency": args.concurrency, "rounds": args.rounds, "seed": args.seed,
                   "service_env": args.service_env, "profile": args.profile,
                   "floor_mode": args.floor_mode},
        "machine": machine_facts(pg_version),
        "loadavg_before": loadavg_before, "loadavg_after": loadavg_after,
        "runs": runs, "summary": summarise(runs), "db_counts": counts,
        "expected_rows_per_endpoint": (args.events + args.warmup) * args.rounds,
    }
    json_path = results_dir / f"ingest-{stamp}.json"
    md_path = results_dir / f"ingest-{stamp}.md"
    json_path.write_text(json.dumps(result, indent=2))
    md_path.write_text(markdown(result))
    print(markdown(result))
    print(f"[ingest] wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
