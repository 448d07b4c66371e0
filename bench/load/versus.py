"""Two versions of the code, one page at a time in turn: the CPU a page costs in each.

    git worktree add /tmp/old_tree <commit>
    .venv/bin/python -m bench.load.versus --other /tmp/old_tree --database tmc_bench_london

This machine's speed changes by the minute (docs/performance.md, sessions 6-8), so two load
runs minutes apart do not compare two versions. Here each version runs in its own process (the
app in-process, as bench/load/cost.py; the other tree's code through PYTHONPATH) and they fetch
pages strictly in turn, swapping which goes first every round, so a slow minute slows both
alike. Per page and version: the medians of this process's CPU (app and test client), wall
time and SQL statements; per version, the CPU of the PostgreSQL processes serving its
connections over the measured rounds. Prints them and the ratios of this tree to the other;
writes bench/results/versus-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("cpu_ms", "wall_ms", "statements")


def serve(options: dict[str, Any]) -> int:
    """A child: the app of the tree on sys.path; fetches `PAGE INDEX` lines from stdin. Uses
    only what older trees have too (their bench.load.cost.Probe)."""
    from sqlalchemy import event

    from bench.load.cost import Probe

    probe = Probe(options["admin_url"], options["database"], options["sessions"],
                  options["secret_key"], f"vs{os.getpid()}")
    backends: set[int] = set()  # the PostgreSQL processes serving this app's connections
    event.listen(probe.app.state.engine, "connect",
                 lambda dbapi, _record: backends.add(dbapi.info.backend_pid))
    print(json.dumps({"ready": True, "app": __import__("app").__file__}), flush=True)
    for line in sys.stdin:
        if line.strip() == "backends":
            print(json.dumps(sorted(backends)), flush=True)
            continue
        page, index = line.split()
        probe.fetch(int(index), page)
        sample = probe.samples.pop()
        print(json.dumps({k: sample[k] for k in ("cpu_ms", "wall_ms", "statements")}),
              flush=True)
    probe.close()
    return 0


class Side:
    def __init__(self, name: str, tree: Path, args: argparse.Namespace) -> None:
        self.name, self.samples = name, {}
        env = os.environ | {"PYTHONPATH": str(tree)}
        self.proc = subprocess.Popen(
            # This file by its path: the tree on PYTHONPATH gives `app` and `bench` (an older
            # tree may not have this module).
            [sys.executable, __file__, "--serve", json.dumps(
                {key: getattr(args, key) for key in ("admin_url", "database", "sessions",
                                                       "secret_key")})],
            cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        hello = json.loads(self._line())
        self.app = hello["app"]

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name}: the child ended")
        return line

    def _ask(self, line: str) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self._line())

    def fetch(self, page: str, index: int, keep: bool) -> None:
        sample = self._ask(f"{page} {index}")
        if keep:
            self.samples.setdefault(page, []).append(sample)

    def backend_cpu(self) -> float:
        """CPU seconds so far of the PostgreSQL processes serving this side's connections
        (the bench must not open new ones while measuring: none does after the warm-up)."""
        total = 0.0
        for pid in self._ask("backends"):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        return total

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _summary(samples: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(s[k] for s in samples), 3) for k in KEYS}


def main(argv: list[str] | None = None) -> int:
    from bench.load.cost import add_probe_arguments

    parser = argparse.ArgumentParser(prog="python -m bench.load.versus",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--other", type=Path, required=True,
                        help="the other version's tree (a git worktree)")
    parser.add_argument("--database", default="tmc_bench_london")
    parser.add_argument("--pages", default="case,timeline,poll")
    add_probe_arguments(parser)
    args = parser.parse_args(argv)
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    sides = [Side("other", args.other.resolve(), args), Side("this", ROOT, args)]
    postgres: dict[str, float] = {}
    try:
        for n in range(args.warmup + args.rounds):
            keep = n >= args.warmup
            if n == args.warmup:
                postgres = {side.name: side.backend_cpu() for side in sides}
            for page in pages:
                for side in sides if n % 2 == 0 else reversed(sides):
                    side.fetch(page, n, keep)
        postgres = {side.name: (side.backend_cpu() - postgres[side.name]) * 1000 / args.rounds
                    for side in sides}
    finally:
        for side in sides:
            side.close()
    result: dict[str, Any] = {"started_at": stamp, "database": args.database,
                              "rounds": args.rounds, "apps": {s.name: s.app for s in sides},
                              "pages": {}, "postgres_cpu_ms_per_round": postgres}
    for page in pages:
        other, this = (_summary(s.samples[page]) for s in sides)
        ratio = {k: round(this[k] / other[k], 3) if other[k] else None for k in KEYS}
        result["pages"][page] = {"other": other, "this": this, "this_over_other": ratio}
        print(f"{page}: CPU {other['cpu_ms']} -> {this['cpu_ms']} ms ({ratio['cpu_ms']}), "
              f"statements {other['statements']:.0f} -> {this['statements']:.0f}, "
              f"wall {other['wall_ms']} -> {this['wall_ms']} ms")
    print(f"PostgreSQL CPU per round ({', '.join(pages)}): {postgres['other']:.2f} -> "
          f"{postgres['this']:.2f} ms ({postgres['this'] / postgres['other']:.3f})")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"versus-{stamp}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        raise SystemExit(serve(json.loads(sys.argv[2])))
    raise SystemExit(main())
