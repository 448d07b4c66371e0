"""Real servers for tests that need real sockets and real concurrency (the TestClient runs
requests one at a time): the app under uvicorn in a background thread (`serve`), `tmc` commands
as processes (`start_tmc`), and a free port for anything else."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_tmc(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`tmc ARGS` as a process in the repository, its output appended to `log`."""
    tmc = Path(sys.executable).with_name("tmc")
    command = [str(tmc)] if tmc.exists() else [sys.executable, "-m", "app.cli"]
    with log.open("ab") as sink:
        return subprocess.Popen([*command, *args], env=env, cwd=ROOT, stdout=sink, stderr=sink)


def stop_processes(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to each, then up to 30 s for each to finish before it is killed."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def is_ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def serve(settings: Settings, own_base_url: bool = False) -> Iterator[tuple[str, Settings]]:
    """Serves `create_app(settings)` on a free port; yields (base URL, settings used). With
    `own_base_url`, TMC_BASE_URL is the server's own address (for signed callbacks)."""
    from app.main import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    if own_base_url:
        settings = settings.model_copy(update={"base_url": base})
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", lifespan="off",
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        yield base, settings
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
        app.state.engine.dispose()


@contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """Serves `create_app(settings)` on a free port; yields its base URL."""
    with serve(settings) as (base, _settings):
        yield base
