"""Throttles are shared between processes through Redis when configured, and fall back to
process memory (and say so in the log) when Redis cannot be reached."""

from __future__ import annotations

import logging
import os
import uuid

import pytest

from app.core.ratelimit import Throttle
from tests.live_server import free_port

REDIS_URL = os.environ.get("TMC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_up() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        return True
    except Exception:
        return False


def test_memory_throttle_refuses_over_the_limit():
    throttle = Throttle(None)
    assert [throttle.hit("3/minute", "k") for _ in range(4)] == [True, True, True, False]
    assert throttle.hit("3/minute", "other")  # per identifier


def test_redis_throttle_is_shared_between_processes():
    if not _redis_up():
        if os.environ.get("CI") == "true":
            pytest.fail("Redis is required in CI")
        pytest.skip("Redis not available")
    key = uuid.uuid4().hex
    first, second = Throttle(REDIS_URL), Throttle(REDIS_URL)  # as two app processes would
    assert first.hit("3/minute", key) and second.hit("3/minute", key)
    assert first.hit("3/minute", key)
    assert not second.hit("3/minute", key)


def test_redis_down_falls_back_to_memory_and_logs(caplog):
    throttle = Throttle(f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING, logger="app.core.ratelimit"):
        results = [throttle.hit("2/minute", "k") for _ in range(3)]
    assert results == [True, True, False]
    assert "using process memory" in caplog.text


def test_app_uses_redis_when_configured(settings):
    from app.main import create_app

    app = create_app(settings.model_copy(update={"redis_url": REDIS_URL}))
    try:
        assert app.state.throttle._shared is not None
    finally:
        app.state.engine.dispose()
