"""`tmc serve` as operations run it: real app processes, checked from the outside."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fake_twilio import wait_for
from tests.live_server import free_port, is_ready, start_tmc, stop_processes


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return children


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def _app_process_environments(tmp_path: Path, extra: dict[str, str]) -> list[dict[str, str]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TMC_") and k != "MALLOC_ARENA_MAX"} | {
        "TMC_ENV": "test", "TMC_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}", **extra}
    start_tmc("migrate", env=env, log=tmp_path / "migrate.log").wait(timeout=120)
    process = start_tmc("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
                   "--no-worker", env=env, log=tmp_path / "serve.log")
    try:
        assert wait_for(lambda: is_ready(f"http://127.0.0.1:{port}"), timeout=60), \
            (tmp_path / "serve.log").read_text()
        # uvicorn's supervisor starts the app processes (and a resource tracker): the ones
        # serving requests are those running the app.
        return [_environ(pid) for pid in _children(process.pid)]
    finally:
        stop_processes([process])


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_app_processes_use_two_malloc_arenas(tmp_path):
    environments = _app_process_environments(tmp_path, {})
    assert len(environments) >= 2
    assert {e.get("MALLOC_ARENA_MAX") for e in environments} == {"2"}


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_an_operators_malloc_setting_is_kept(tmp_path):
    environments = _app_process_environments(tmp_path, {"MALLOC_ARENA_MAX": "4"})
    assert {e.get("MALLOC_ARENA_MAX") for e in environments} == {"4"}
