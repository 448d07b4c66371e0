"""Redis down under a running app: sign-in keeps being served, code requests stay limited (per
process), the fallback is logged, and when Redis is back the shared counters are used again.
A private redis-server is started and killed by the test (the machine's own is left alone)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

from tests.live_server import free_port
from tests.portal.helpers import ALEX, open_case, request_code

REF = "01/77002/26"


class PrivateRedis:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                if redis.Redis.from_url(self.url).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def keys(self) -> list[bytes]:
        return redis.Redis.from_url(self.url).keys("*")


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(settings, private_redis):
    from app.main import create_app

    application = create_app(settings.model_copy(update={"redis_url": private_redis.url}))
    yield application
    application.state.engine.dispose()


def test_redis_down_keeps_serving_and_limiting_then_shares_again(client, police, private_redis,
                                                                 caplog):
    open_case(police, REF, [ALEX])
    assert request_code(client, REF, "1990-05-17").status_code == 303
    assert private_redis.keys(), "the counter lives in Redis while it is up"

    private_redis.stop()
    with caplog.at_level(logging.WARNING, logger="app.core.ratelimit"):
        statuses = [request_code(client, REF, "1990-05-17").status_code for _ in range(6)]
    # Served throughout; five per reference per 15 minutes, now counted in this process alone.
    assert statuses == [303] * 5 + [429]
    assert "rate-limit store unreachable, using process memory" in caplog.text
    assert "ConnectionError" in caplog.text and REF not in caplog.text

    private_redis.start()  # empty: the shared counters start again
    assert request_code(client, REF, "1990-05-17").status_code == 303
    assert private_redis.keys()
