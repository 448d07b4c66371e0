"""`tmc worker` with a timing trace, for bench/notify only (the app itself is not changed):
wraps the Deliverer's claim, send and record steps, the worker's jobs and its LISTEN wake-ups,
and appends one JSON line per step to $TMC_BENCH_TRACE (time.time(), thread, notification ids).

    TMC_BENCH_TRACE=var/trace.jsonl .venv/bin/python -m bench.notify.trace_worker --concurrency 2
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.core import worker as worker_module
from app.notifications import service

_out = open(os.environ["TMC_BENCH_TRACE"], "a", buffering=1)  # noqa: SIM115 - process-long
_lock = threading.Lock()


def emit(step: str, **fields: Any) -> None:
    line = json.dumps({"step": step, "pid": os.getpid(), "thread": threading.get_ident(),
                       **fields})
    with _lock:
        _out.write(line + "\n")


def traced_claim(original: Callable[..., Any]) -> Callable[..., Any]:
    def claim(*args: Any, **kwargs: Any) -> Any:
        start = time.time()
        batch = original(*args, **kwargs)
        emit("claim", start=start, end=time.time(), ids=[c.notification_pk for c in batch])
        return batch
    return claim


def traced_send(original: Callable[..., Any]) -> Callable[..., Any]:
    def send(provider: Any, message: Any) -> Any:
        start = time.time()
        outcome = original(provider, message)
        emit("send", start=start, end=time.time(), ids=[message.notification_pk])
        return outcome
    return send


def traced_record(original: Callable[..., Any]) -> Callable[..., Any]:
    def record_outcomes(session: Any, results: list[Any], *args: Any, **kwargs: Any) -> Any:
        start = time.time()
        original(session, results, *args, **kwargs)
        # The caller commits right after; the commit's own time is in the next "job" line.
        emit("record", start=start, end=time.time(),
             ids=[claimed.notification_pk for claimed, _ in results])
    return record_outcomes


def traced_job(job: Any) -> None:
    run = job.run

    def timed(factory: Any) -> int:
        start = time.time()
        handled = run(factory)
        emit("job", name=job.name, start=start, end=time.time(), handled=handled)
        return handled
    job.run = timed


def install() -> None:
    service.claim = traced_claim(service.claim)
    service.send = traced_send(service.send)
    service.record_outcomes = traced_record(service.record_outcomes)
    original_wake = worker_module.Worker.wake_now
    original_init = worker_module.Worker.__init__

    def wake_now(self: Any, *topic: str | None) -> None:  # no topic before session 3
        emit("wake", at=time.time(), topic=topic[0] if topic else None)
        original_wake(self, *topic)

    def init(self: Any, engine: Any, jobs: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, engine, jobs, *args, **kwargs)
        for job in self.jobs:
            traced_job(job)

    worker_module.Worker.wake_now = wake_now  # type: ignore[method-assign]
    worker_module.Worker.__init__ = init  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    from app.cli import main

    main(["worker", *sys.argv[1:]])
