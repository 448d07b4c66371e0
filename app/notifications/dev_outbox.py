"""The dev outbox: on the embedded default, SMS and emails are stored instead of sent, and
`tmc outbox` shows them. Production refuses to start with it (app.core.config)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.notifications import repository
from app.notifications.models import CHANNELS, DevOutboxMessage


def capture(session: Session, channel: str, to: str, subject: str | None,
            body: str) -> DevOutboxMessage:
    """Adds one captured message to the caller's transaction (the caller commits)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    message = DevOutboxMessage(channel=channel, recipient=to, subject=subject, body=body)
    session.add(message)
    return message


def messages(session: Session, to: str | None = None,
             limit: int | None = None) -> Sequence[DevOutboxMessage]:
    return repository.outbox_messages(session, to, limit)


def as_json(message: DevOutboxMessage) -> dict[str, Any]:
    return {"id": message.id, "channel": message.channel, "to": message.recipient,
            "subject": message.subject, "body": message.body,
            "created_at": message.created_at.isoformat()}
