"""Which database work runs on an event loop: there it holds up every request of the server's
process while the database answers. Works with the TestClient and with live servers in a
thread (the test's own thread runs no event loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


def _on_an_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@contextmanager
def statements_on_an_event_loop() -> Iterator[list[str]]:
    """The SQL statements and transaction ends this process runs on a thread that runs an
    event loop while it lasts."""
    seen: list[str] = []

    def statement(_conn, _cursor, sql, *_args) -> None:  # type: ignore[no-untyped-def]
        if _on_an_event_loop():
            seen.append(" ".join(sql.split())[:80])

    def ended(_conn) -> None:  # type: ignore[no-untyped-def]
        if _on_an_event_loop():
            seen.append("end of transaction")

    listeners = [("before_cursor_execute", statement), ("commit", ended), ("rollback", ended)]
    for name, listener in listeners:
        event.listen(Engine, name, listener)
    try:
        yield seen
    finally:
        for name, listener in listeners:
            event.remove(Engine, name, listener)


@contextmanager
def transaction_ends(target: Any = Engine) -> Iterator[list[bool]]:
    """Each COMMIT or ROLLBACK of `target` (an engine; by default every engine of this process)
    while it lasts: whether it ran on an event loop."""
    ended: list[bool] = []

    def record(_conn) -> None:  # type: ignore[no-untyped-def]
        ended.append(_on_an_event_loop())

    for name in ("commit", "rollback"):
        event.listen(target, name, record)
    try:
        yield ended
    finally:
        for name in ("commit", "rollback"):
            event.remove(target, name, record)
