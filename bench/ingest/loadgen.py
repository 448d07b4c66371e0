"""Closed-loop load generator: posts signed agency events as fast as the server takes them.

Runs as its own process (run.py starts one per target). `--concurrency` workers each take the
next case and send its events one after another, signing each right before it is sent; a
warm-up on other cases comes first and is not measured. Every response other than 202 is an
error. Writes one JSON object with throughput, latency percentiles, statuses and, when
`--watch-pid` is given, the CPU and memory of that process tree during the measured phase.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import resource
import sys
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook

if not __package__:  # run as a file: make `bench.ingest` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.ingest.journeys import Event, make_cases


@dataclass
class Phase:
    latencies: array = field(default_factory=lambda: array("d"))
    statuses: Counter = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    per_second: Counter = field(default_factory=Counter)
    started: float = 0.0
    wall: float = 0.0
    timed_out: bool = False


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def summary(phase: Phase) -> dict[str, Any]:
    values = sorted(phase.latencies)
    done = len(values)
    accepted = phase.statuses.get("202", 0)
    ms = 1000.0
    return {
        "events": done,
        "accepted_202": accepted,
        "errors": done - accepted,
        "statuses": dict(phase.statuses),
        "error_samples": phase.error_samples,
        "wall_s": round(phase.wall, 3),
        "events_per_s": round(done / phase.wall, 1) if phase.wall else 0.0,
        "accepted_per_s": round(accepted / phase.wall, 1) if phase.wall else 0.0,
        "latency_ms": {
            "mean": round(sum(values) / done * ms, 2) if done else math.nan,
            "p50": round(percentile(values, 0.50) * ms, 2),
            "p95": round(percentile(values, 0.95) * ms, 2),
            "p99": round(percentile(values, 0.99) * ms, 2),
            "max": round(values[-1] * ms, 2) if values else math.nan,
        },
        "completed_per_second": [phase.per_second[i] for i in range(int(phase.wall) + 1)],
        "timed_out": phase.timed_out,
    }


class Client:
    """aiohttp when installed (less client CPU per request), else httpx."""

    def __init__(self, concurrency: int) -> None:
        try:
            import aiohttp
        except ImportError:
            aiohttp = None
        self.kind = "aiohttp" if aiohttp else "httpx"
        if aiohttp:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=concurrency, ttl_dns_cache=None),
                timeout=aiohttp.ClientTimeout(total=60))
        else:
            import httpx

            self._session = httpx.AsyncClient(
                timeout=60, limits=httpx.Limits(max_connections=concurrency,
                                                 max_keepalive_connections=concurrency))

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.kind == "aiohttp":
            async with self._session.post(url, data=body, headers=headers) as response:
                return response.status, await response.read()
        response = await self._session.post(url, content=body, headers=headers)
        return response.status_code, response.content

    async def close(self) -> None:
        if self.kind == "aiohttp":
            await self._session.close()
        else:
            await self._session.aclose()


async def run_phase(client: Client, base_url: str, hooks: dict[str, Webhook],
                    cases: list[list[Event]], concurrency: int, deadline: float) -> Phase:
    phase = Phase()
    next_case = iter(cases)  # shared by the workers: each takes the next case when free
    urls = {agency: f"{base_url}/webhooks/agencies/{agency}/events" for agency in hooks}

    async def worker() -> None:
        for case in next_case:
            for event in case:
                if time.monotonic() > deadline:
                    phase.timed_out = True
                    return
                body = event.body.encode()
                now = datetime.now(UTC)
                headers = {
                    "content-type": "application/json",
                    "webhook-id": event.webhook_id,
                    "webhook-timestamp": str(int(now.timestamp())),
                    "webhook-signature": hooks[event.agency_id].sign(
                        event.webhook_id, now, event.body),
                }
                start = time.perf_counter()
                try:
                    status, text = await client.post(urls[event.agency_id], body, headers)
                    key = str(status)
                except Exception as exc:  # a refused or dropped connection is an error too
                    key, text = type(exc).__name__, str(exc).encode()
                end = time.perf_counter()
                phase.latencies.append(end - start)
                phase.statuses[key] += 1
                phase.per_second[int(end - phase.started)] += 1
                if key != "202" and len(phase.error_samples) < 5:
                    phase.error_samples.append(f"{key} {event.webhook_id}: {text[:300]!r}")

    phase.started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    phase.wall = time.perf_counter() - phase.started
    return phase


# --- resource use of the server under test ------------------------------------------------

def _tree(pid: int) -> list[Any]:
    import psutil

    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _postgres_cpu() -> float | None:
    """CPU seconds used so far by the PostgreSQL server: its live processes plus the children
    its postmaster has reaped (backends that exited), so connection churn is not lost. Covers
    every database on the server, so other users' work is counted too."""
    import psutil

    total, found = 0.0, False
    for proc in psutil.process_iter(["name", "ppid"]):
        if proc.info["name"] not in ("postgres", "postmaster"):
            continue
        try:
            times = proc.cpu_times()
            total += times.user + times.system
            parent = psutil.Process(proc.info["ppid"]) if proc.info["ppid"] else None
            if parent is None or parent.name() not in ("postgres", "postmaster"):
                total += times.children_user + times.children_system  # the postmaster
                found = True
        except psutil.Error:
            continue
    return total if found else None


def _cpu(processes: list[Any]) -> dict[int, float]:
    out = {}
    for proc in processes:
        try:
            times = proc.cpu_times()
            out[proc.pid] = times.user + times.system
        except Exception:  # gone meanwhile
            continue
    return out


def _rss(processes: list[Any]) -> dict[int, int]:
    out = {}
    for proc in processes:
        try:
            out[proc.pid] = proc.memory_info().rss
        except Exception:
            continue
    return out


class Watcher:
    """CPU seconds and RSS of the server's process tree, and CPU of the PostgreSQL server."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.enabled = pid is not None
        if self.enabled:
            try:
                import psutil  # noqa: F401
            except ImportError:
                print("psutil is not installed: no CPU/RSS figures", file=sys.stderr)
                self.enabled = False
        self.peak_rss = 0

    def start(self) -> None:
        if not self.enabled:
            return
        self.cpu0 = _cpu(_tree(self.pid))
        self.db0 = _postgres_cpu()
        self.self0 = resource.getrusage(resource.RUSAGE_SELF)
        self.t0 = time.perf_counter()

    async def sample_rss(self, stop: asyncio.Event) -> None:
        while self.enabled and not stop.is_set():
            self.peak_rss = max(self.peak_rss, sum(_rss(_tree(self.pid)).values()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    def stop(self, events: int) -> dict[str, Any]:
        if not self.enabled:
            return {}
        wall = time.perf_counter() - self.t0
        tree = _tree(self.pid)
        cpu1 = _cpu(tree)
        app_cpu = sum(v - self.cpu0.get(pid, 0.0) for pid, v in cpu1.items())
        rss = _rss(tree)
        self.peak_rss = max(self.peak_rss, sum(rss.values()))
        out: dict[str, Any] = {
            "processes": len(tree),
            "app_cpu_s": round(app_cpu, 2),
            "app_cores": round(app_cpu / wall, 2),
            "app_cpu_ms_per_event": round(app_cpu / events * 1000, 3) if events else None,
            "app_rss_mib_end": {str(pid): round(v / 2**20, 1) for pid, v in rss.items()},
            "app_rss_mib_total_peak": round(self.peak_rss / 2**20, 1),
        }
        db1 = _postgres_cpu()
        if self.db0 is not None and db1 is not None:
            db_cpu = db1 - self.db0
            out["postgres_cpu_s"] = round(db_cpu, 2)
            out["postgres_cores"] = round(db_cpu / wall, 2)
            out["postgres_cpu_ms_per_event"] = round(db_cpu / events * 1000, 3) if events else None
        me = resource.getrusage(resource.RUSAGE_SELF)
        own = (me.ru_utime - self.self0.ru_utime) + (me.ru_stime - self.self0.ru_stime)
        out["loadgen_cpu_s"] = round(own, 2)
        out["loadgen_cores"] = round(own / wall, 2)
        return out


# --- main ---------------------------------------------------------------------------------

async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    secrets = json.loads(Path(args.secrets_file).read_text())
    hooks = {agency: Webhook(secret) for agency, secret in secrets.items()}
    warmup_cases = make_cases(args.warmup, f"{args.prefix}W", args.seed + 1)
    cases = make_cases(args.events, args.prefix, args.seed)
    deadline = time.monotonic() + args.timeout
    client = Client(args.concurrency)
    watcher = Watcher(args.watch_pid)
    try:
        warm = await run_phase(client, args.base_url, hooks, warmup_cases, args.concurrency,
                               deadline)
        watcher.start()
        stop = asyncio.Event()
        sampler = asyncio.create_task(watcher.sample_rss(stop))
        measured = await run_phase(client, args.base_url, hooks, cases, args.concurrency,
                                   deadline)
        stop.set()
        await sampler
        resources = watcher.stop(len(measured.latencies))
    finally:
        await client.close()
    return {
        "target": args.name, "base_url": args.base_url, "client": client.kind,
        "concurrency": args.concurrency, "cases": len(cases),
        "events_per_case": round(args.events / len(cases), 1),
        "warmup": summary(warm) | {"completed_per_second": None},
        "measured": summary(measured), "resources": resources,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="target")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--secrets-file", required=True,
                        help="JSON object agency_id -> whsec_ secret")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--prefix", default="B", help="crime reference prefix (unique per run)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600, help="seconds for both phases")
    parser.add_argument("--watch-pid", type=int, help="server process whose tree to measure")
    parser.add_argument("--out", help="write the JSON result here (default: stdout)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import uvloop
    except ImportError:
        uvloop = None
    result = (uvloop.run if uvloop else asyncio.run)(main_async(args))
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)
    return 0 if not result["measured"]["timed_out"] else 3


if __name__ == "__main__":
    sys.exit(main())
