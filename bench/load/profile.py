"""Where a case page's time goes: one database, the app in-process, one thread.

    .venv/bin/python -m bench.load.profile --database tmc_bench_london --requests 200

Signs in `--sessions` victims (as bench/load/cost.py does), warms up, then fetches `--requests`
case pages under cProfile and prints the top functions by cumulative and by own time, and the
SQL statements of one request (how many, which). `--no-profile` measures CPU and statements
only (a profiler roughly doubles the CPU it measures); it also gives PostgreSQL's CPU per page
(every server process, so run it on an otherwise idle database server). `--page timeline`
fetches the htmx timeline fragment instead, `--page poll` the timeline's background poll when
nothing is new (204).

The test client runs the app on another thread and sync routes on a thread pool, which cProfile
(one thread) does not see: with yappi importable (`pip install --target DIR yappi`, then
PYTHONPATH=DIR) every thread's CPU time is profiled instead.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import pstats
import statistics
import time
from collections.abc import Callable

from bench.generate import run as generate
from bench.ingest.loadgen import _postgres_cpu
from bench.load.cost import PAGES, Probe


class _Profiler:
    """yappi (CPU clock, every thread) when it is importable, else cProfile (this thread)."""

    def __init__(self) -> None:
        try:
            import yappi
        except ImportError:
            yappi = None
        self.yappi = yappi
        self.cprofile = None if yappi else cProfile.Profile()

    def start(self) -> None:
        if self.yappi:
            self.yappi.set_clock_type("cpu")
            self.yappi.start()
        else:
            self.cprofile.enable()

    def stop(self) -> None:
        if self.yappi:
            self.yappi.stop()
        else:
            self.cprofile.disable()

    def report(self, top: int) -> None:
        for key in ("cumulative", "tottime"):
            out = io.StringIO()
            if self.yappi:
                stats = self.yappi.convert2pstats(self.yappi.get_func_stats())
                stats.stream = out
            else:
                stats = pstats.Stats(self.cprofile, stream=out)
            stats.sort_stats(key).print_stats(top)
            print(out.getvalue())


def _statements_of_one_request(probe: Probe, fetch: Callable[[int], None]) -> list[str]:
    fetch(0)
    return [" ".join(statement.split())[:160] for _seconds, statement, _params in probe.statements]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.profile",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="tmc_bench_london")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--page", choices=sorted(PAGES), default="case")
    parser.add_argument("--admin-url", default=generate.ADMIN_URL)
    parser.add_argument("--secret-key", default=generate.BENCH_SECRET_KEY)
    args = parser.parse_args(argv)
    probe = Probe(args.admin_url, args.database, args.sessions, args.secret_key,
                  time.strftime("prof%H%M%S"))
    fetch = functools.partial(probe.fetch, page=args.page)
    try:
        for i in range(args.warmup):
            fetch(i)
        probe.samples.clear()
        profiler = None if args.no_profile else _Profiler()
        if profiler:
            profiler.start()
        pg0 = _postgres_cpu()
        for i in range(args.requests):
            fetch(i)
        pg1 = _postgres_cpu()
        if profiler:
            profiler.stop()
        cpu = statistics.median(s["cpu_ms"] for s in probe.samples)
        wall = statistics.median(s["wall_ms"] for s in probe.samples)
        count = statistics.median(s["statements"] for s in probe.samples)
        print(f"{args.requests} {args.page} pages: CPU median {cpu:.2f} ms, "
              f"wall median {wall:.2f} ms, "
              f"{count:.0f} statements" + ("" if args.no_profile else " (under the profiler)"))
        if args.no_profile and pg0 is not None and pg1 is not None:
            print(f"PostgreSQL CPU {(pg1 - pg0) * 1000 / args.requests:.2f} ms per page")
        for line in _statements_of_one_request(probe, fetch):
            print("  SQL", line)
        if profiler:
            profiler.report(args.top)
    finally:
        probe.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
