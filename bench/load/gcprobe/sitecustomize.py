"""Garbage-collection pauses of every Python process started with this directory on PYTHONPATH
and TMC_GC_PROBE set to a directory: each writes, every 5 s and at exit, the count, total and
longest pause per generation and every full collection's pause (wall ms) to
`$TMC_GC_PROBE/gc-<pid>.json`. `python -m bench.load.gcprobe DIR` prints them.

    PYTHONPATH=bench/load/gcprobe TMC_GC_PROBE=/tmp/gc python -m bench.load --cases 10000 ...

Python imports `sitecustomize` at start-up, so this reaches the app processes that `tmc serve`
spawns without any change to the app. A measuring tool, not part of the service."""

from __future__ import annotations

import atexit
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

OUT = os.environ.get("TMC_GC_PROBE")


def _install(out: Path) -> None:
    started: dict[int, float] = {}
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        generation = info["generation"]
        if phase == "start":
            started[generation] = time.perf_counter()
        elif generation in started:
            pauses[generation].append((time.perf_counter() - started.pop(generation)) * 1000)

    def dump() -> None:
        report = {"argv": sys.argv, "generations": {
            str(g): {"count": len(p), "total_ms": round(sum(p), 1),
                     "max_ms": round(max(p), 1) if p else 0.0} for g, p in pauses.items()},
            "full_collections_ms": [round(p, 1) for p in pauses[2]]}
        (out / f"gc-{os.getpid()}.json").write_text(json.dumps(report))

    def every_five_seconds() -> None:
        while True:
            time.sleep(5)
            dump()

    out.mkdir(parents=True, exist_ok=True)
    gc.callbacks.append(on_gc)
    atexit.register(dump)
    threading.Thread(target=every_five_seconds, daemon=True).start()


if OUT:
    _install(Path(OUT))
