"""Outbound webhook worker job."""

from __future__ import annotations

from app.core.config import Settings
from app.core.worker import Job
from app.outbound.service import WAKE_TOPIC, Deliverer


def outbound_jobs(settings: Settings) -> list[Job]:
    return [Job("deliver-outbound-webhooks", Deliverer(settings), idle_interval=5.0,
                topic=WAKE_TOPIC)]
