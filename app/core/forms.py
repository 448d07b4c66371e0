"""Submitted HTML forms, read the same way by every route that takes one."""

from __future__ import annotations

from starlette.requests import Request


async def text_fields(request: Request) -> dict[str, str]:
    """The form's text fields (uploads dropped), each without NUL characters: no browser types
    one, and PostgreSQL stores none in text or JSON, so one turned a form into a database error
    (a 503 "try again" that never succeeds) where SQLite stored it."""
    return {name: value.replace("\x00", "") for name, value in (await request.form()).items()
            if isinstance(value, str)}
