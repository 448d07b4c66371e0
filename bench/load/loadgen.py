"""Open-loop load: victims reading their cases and agencies posting events, at a fixed rate.

Runs as its own process (bench/load/run.py starts it). Requests arrive as a Poisson process at
`--rate` per second whatever the server's speed (open loop: a slow server does not slow the
arrivals, so queueing shows in the latency). Each arrival is one of:

- `case`: a victim's case page, GET /cases/{public_id} (a signed-in session cookie);
- `timeline`: the timeline fragment as htmx fetches it (HX-Request and the CSRF header);
- `poll`: the timeline's background poll with `seen=<latest entry>` (204 when nothing is new);
- `event`: a police force's signed `investigation.update` onto a random case.

Latency runs from the moment a request was due, not when it could be sent, so a client-side
queue counts too (no coordinated omission). Arrivals in the first `--warmup` seconds are not
measured. Prints `measure-start` and `measure-end` when the measured arrivals begin and end
(the runner samples CPU and memory between them) and writes one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from standardwebhooks.webhooks import Webhook

from bench.ingest.loadgen import percentile

ROUTES = ("case", "timeline", "poll", "event")
OK = {"case": {200}, "timeline": {200}, "poll": {200, 204}, "event": {202}}


@dataclass
class RouteStats:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def add(self, route: str, status: str, latency: float, detail: str) -> None:
        self.latencies.append(latency)
        self.statuses[status] += 1
        if status not in {str(s) for s in OK[route]} and len(self.samples) < 5:
            self.samples.append(f"{status}: {detail[:200]}")

    def summary(self, route: str, wall: float) -> dict[str, Any]:
        values = sorted(self.latencies)
        ok = sum(n for s, n in self.statuses.items() if s.isdigit() and int(s) in OK[route])
        ms = 1000.0
        return {
            "requests": len(values), "ok": ok, "errors": len(values) - ok,
            "statuses": dict(self.statuses), "error_samples": self.samples,
            "ok_per_s": round(ok / wall, 1) if wall else 0.0,
            "latency_ms": {q: round(percentile(values, p) * ms, 1) for q, p in
                           (("p50", 0.50), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))},
        }


class Traffic:
    def __init__(self, plan: dict[str, Any], base_url: str, run_id: str, seed: int) -> None:
        self.base_url = base_url
        self.sessions = plan["sessions"]
        self.references = plan["references"]
        self.police = plan["police_agency_id"]
        self.hook = Webhook(plan["police_secret"])
        self.cookie = plan["cookie_name"]
        self.run_id = run_id
        self.rng = random.Random(seed)
        self.sent = 0

    def request(self, route: str) -> tuple[str | None, str, str, dict[str, str], bytes | None]:
        """(who, method, url, headers, body) of one request of the route; `who` is the victim
        session's token (None for an agency's event)."""
        if route == "event":
            return (None, *self._event())
        s = self.rng.choice(self.sessions)
        headers = {"Cookie": f"{self.cookie}={s['token']}"}
        url = f"{self.base_url}/cases/{s['public_id']}"
        if route in ("timeline", "poll"):
            headers |= {"HX-Request": "true", "X-CSRF-Token": s["csrf"]}
            url += "/timeline" + (f"?seen={s['seen']}" if route == "poll" else "")
        return s["token"], "GET", url, headers, None

    def _event(self) -> tuple[str, str, dict[str, str], bytes]:
        self.sent += 1
        hook = f"LOAD-{self.run_id}-{self.sent}"
        now = datetime.now(UTC)
        body = json.dumps({
            "type": "investigation.update", "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "crime_reference": self.rng.choice(self.references),
            "data": {"message": "We are reviewing new information about your case."}})
        headers = {"content-type": "application/json", "webhook-id": hook,
                   "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": self.hook.sign(hook, now, body)}
        return "POST", f"{self.base_url}/webhooks/agencies/{self.police}/events", headers, \
            body.encode()


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        route, _, share = part.partition("=")
        route = route.strip()
        if route not in ROUTES:
            raise argparse.ArgumentTypeError(f"unknown route {route!r} (routes: {ROUTES})")
        mix[route] = float(share)
    if not mix or sum(mix.values()) <= 0:
        raise argparse.ArgumentTypeError("the mix needs a positive share")
    return mix


async def run(args: argparse.Namespace) -> dict[str, Any]:
    plan = json.loads(Path(args.plan).read_text())
    traffic = Traffic(plan, args.base_url, args.run_id, args.seed)
    arrivals = random.Random(args.seed + 1)
    routes, weights = list(args.mix), list(args.mix.values())
    stats = {route: RouteStats() for route in routes}
    timeout = aiohttp.ClientTimeout(total=args.request_timeout)
    pending: set[asyncio.Task] = set()
    async with Clients(args.connections, args.browser_connections, timeout) as clients:

        async def one(route: str, due: float, measured: bool) -> None:
            who, method, url, headers, body = traffic.request(route)
            try:
                async with clients.of(who).request(method, url, headers=headers, data=body,
                                                   allow_redirects=False) as response:
                    text = await response.read()
                    status = str(response.status)
            except Exception as exc:  # refused, reset or timed out: an error
                status, text = type(exc).__name__, str(exc).encode()
            if measured:
                stats[route].add(route, status, time.perf_counter() - due,
                                 text.decode(errors="replace"))

        start = time.perf_counter()
        measure_from = start + args.warmup
        end = measure_from + args.duration
        due = start
        started_measuring = False
        rusage0 = None
        while True:
            due += arrivals.expovariate(args.rate)
            if due >= end:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            measured = due >= measure_from
            if measured and not started_measuring:
                started_measuring = True
                rusage0 = resource.getrusage(resource.RUSAGE_SELF)
                print("measure-start", flush=True)
            route = arrivals.choices(routes, weights)[0]
            task = asyncio.create_task(one(route, due, measured))
            pending.add(task)
            task.add_done_callback(pending.discard)
        print("measure-end", flush=True)
        rusage1 = resource.getrusage(resource.RUSAGE_SELF)
        if pending:
            await asyncio.wait(pending, timeout=args.request_timeout + 5)
    own = 0.0
    if rusage0 is not None:
        own = (rusage1.ru_utime - rusage0.ru_utime) + (rusage1.ru_stime - rusage0.ru_stime)
    return {
        "offered_rate": args.rate, "duration_s": args.duration, "warmup_s": args.warmup,
        "mix": args.mix, "connections": args.connections,
        "browser_connections": args.browser_connections,
        "routes": {route: stats[route].summary(route, args.duration) for route in routes},
        "all": _all(stats, args.duration),
        "loadgen_cpu_percent": round(own / args.duration * 100, 1),
        "loadgen_max_rss_mib": round(rusage1.ru_maxrss / 1024, 1),
    }


class Clients:
    """HTTP clients. With `browser_connections` > 0 each victim session has its own (at most
    that many connections, as a browser keeps a few to a site) and agencies share one of
    `connections`: connections open as victims arrive and each is accepted by whichever app
    process is free then. Otherwise (0) everything shares `connections` connections, like a
    proxy's upstream pool: the few connections a moderate rate needs open in a burst at the
    start, and which process accepted them decides, for the whole run, how the load splits
    between the processes (e.g. 77% and 31% of a core)."""

    def __init__(self, connections: int, browser_connections: int,
                 timeout: aiohttp.ClientTimeout) -> None:
        self.browser_connections = browser_connections
        self.timeout = timeout
        self.shared = self._client(connections)
        self.browsers: dict[str, aiohttp.ClientSession] = {}

    def _client(self, limit: int) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit, ttl_dns_cache=None),
            timeout=self.timeout, cookie_jar=aiohttp.DummyCookieJar())

    def of(self, who: str | None) -> aiohttp.ClientSession:
        if who is None or not self.browser_connections:
            return self.shared
        client = self.browsers.get(who)
        if client is None:
            client = self.browsers[who] = self._client(self.browser_connections)
        return client

    async def __aenter__(self) -> Clients:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for client in [self.shared, *self.browsers.values()]:
            await client.close()


def _all(stats: dict[str, RouteStats], wall: float) -> dict[str, Any]:
    merged = RouteStats()
    ok = 0
    for route, s in stats.items():
        merged.latencies += s.latencies
        merged.statuses += s.statuses
        ok += sum(n for st, n in s.statuses.items() if st.isdigit() and int(st) in OK[route])
    values = sorted(merged.latencies)
    return {"requests": len(values), "ok": ok, "errors": len(values) - ok,
            "ok_per_s": round(ok / wall, 1) if wall else 0.0,
            "latency_ms": {q: round(percentile(values, p) * 1000, 1) for q, p in
                           (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))}}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--plan", required=True, help="JSON from bench/load/run.py")
    parser.add_argument("--rate", type=float, required=True, help="requests per second offered")
    parser.add_argument("--duration", type=float, default=60, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=10, help="unmeasured seconds first")
    parser.add_argument("--mix", type=parse_mix,
                        default=parse_mix("case=0.4,timeline=0.2,poll=0.2,event=0.2"))
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--browser-connections", type=int, default=0,
                        help="connections per victim session (0: victims share --connections)")
    parser.add_argument("--request-timeout", type=float, default=30)
    parser.add_argument("--run-id", default=datetime.now(UTC).strftime("%H%M%S"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.duration <= 0:
        parser.error("--rate and --duration must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import uvloop
    except ImportError:
        uvloop = None
    result = (uvloop.run if uvloop else asyncio.run)(run(args))
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
