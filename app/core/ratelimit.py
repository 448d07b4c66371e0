"""Throttles shared between processes through Redis when TMC_REDIS_URL is set (the `limits`
library), in memory otherwise. If Redis cannot be reached, the process falls back to its own
memory and logs it: throttling gets looser across processes but never stops."""

from __future__ import annotations

import logging

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)


class Throttle:
    def __init__(self, redis_url: str | None = None) -> None:
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        if redis_url:
            storage = storage_from_string(redis_url, socket_connect_timeout=1, socket_timeout=1)
            self._shared = MovingWindowRateLimiter(storage)

    def hit(self, limit: str | RateLimitItem, *identifiers: str) -> bool:
        """Counts one hit; False when the limit is already reached (the hit is refused)."""
        item = parse(limit) if isinstance(limit, str) else limit
        if self._shared is not None:
            try:
                return self._shared.hit(item, *identifiers)
            except Exception as exc:  # any storage failure: keep throttling, in memory
                log.warning("rate-limit store unreachable, using process memory: %s",
                            type(exc).__name__)
        return self._memory.hit(item, *identifiers)

    def reset(self) -> None:
        self._memory.storage.reset()
