"""`tmc demo`: demo agencies and realistic London cases, fed through the real ingestion path.

Every event is signed with the agency's Standard Webhooks secret and handed to
`app.agencies.service.ingest`, exactly as a webhook delivery would be. A case whose crime
reference already exists is skipped whole, so loading twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from app.agencies import repository as agency_repository
from app.agencies import service
from app.cases import repository as case_repository
from app.core.config import Settings
from app.core.i18n import LONDON
from app.core.problems import Problem
from app.demo.agencies import DEMO_AGENCIES
from app.demo.cases import JOURNEYS, Frame, Journey, On, Step, resolve

__all__ = ["DemoError", "load_demo"]


class DemoError(RuntimeError):
    """The demo data or the database does not fit: a bug to fix, not a user error."""


def load_demo(session: Session, settings: Settings,
              journeys: Sequence[Journey] = JOURNEYS) -> dict[str, int]:
    """Registers the demo agencies if missing and ingests every journey not yet loaded."""
    secrets, agencies_created = _ensure_agencies(session, settings.secret_key)
    this_monday = _monday_of(datetime.now(LONDON).date())
    created = skipped = events = 0
    for journey in journeys:
        if case_repository.get_case_by_reference(session, journey.crime_reference) is not None:
            skipped += 1
            continue
        events += _load_journey(session, settings.secret_key, secrets, journey,
                                journey.frame(this_monday))
        created += 1
    return {"agencies": len(DEMO_AGENCIES), "agencies_created": agencies_created,
            "cases_created": created, "cases_skipped": skipped, "events": events}


def _monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _ensure_agencies(session: Session, secret_key: str) -> tuple[dict[str, str], int]:
    """The signing secret of each demo agency, registering those not yet there."""
    secrets: dict[str, str] = {}
    created = 0
    for demo in DEMO_AGENCIES:
        existing = agency_repository.get_agency_with_active_secrets(session, demo.agency_id)
        if existing is None:
            _agency, secrets[demo.agency_id] = service.add_agency(
                session, secret_key, demo.agency_id, demo.kind, demo.name)
            created += 1
            continue
        if existing.kind != demo.kind:
            raise DemoError(f"agency {demo.agency_id} is registered as {existing.kind}, "
                            f"but the demo needs a {demo.kind} agency")
        active = service.active_secrets(existing, secret_key)
        if not active:
            raise DemoError(f"agency {demo.agency_id} has no active signing secret")
        secrets[demo.agency_id] = active[0]
    return secrets, created


def _load_journey(session: Session, secret_key: str, secrets: dict[str, str],
                  journey: Journey, frame: Frame) -> int:
    now = datetime.now(UTC)
    for number, step in enumerate(journey.steps, start=1):
        envelope = _envelope(journey, step, frame, now)
        webhook_id = f"demo-{journey.crime_reference.replace('/', '-')}-{number:02d}"
        _send(session, secret_key, secrets[step.agency_id], journey, step, webhook_id, envelope)
    return len(journey.steps)


def _envelope(journey: Journey, step: Step, frame: Frame, now: datetime) -> dict[str, Any]:
    occurred_at = On(step.day, step.at).resolve(frame)
    if datetime.fromisoformat(occurred_at) > now:
        raise DemoError(f"demo case {journey.crime_reference}: {step.type} on day {step.day} "
                        f"would be in the future; the journey needs more weeks_ago")
    return {"type": step.type, "occurred_at": occurred_at,
            "crime_reference": journey.crime_reference, "data": resolve(step.data, frame)}


def _send(session: Session, secret_key: str, secret: str, journey: Journey, step: Step,
          webhook_id: str, envelope: dict[str, Any]) -> None:
    body = json.dumps(envelope, ensure_ascii=False)
    timestamp = datetime.now(UTC)
    headers = {"webhook-id": webhook_id,
               "webhook-timestamp": str(int(timestamp.timestamp())),
               "webhook-signature": Webhook(secret).sign(webhook_id, timestamp, body)}
    try:
        outcome = service.ingest(session, secret_key, step.agency_id, body.encode(), headers)
    except Problem as problem:
        raise DemoError(
            f"demo case {journey.crime_reference}: {step.type} from {step.agency_id} "
            f"({webhook_id}) was rejected with {problem.status} {problem.slug}: "
            f"{problem.detail} {problem.errors or ''}".rstrip()) from problem
    if outcome.status != 202:
        raise DemoError(f"demo case {journey.crime_reference}: {step.type} ({webhook_id}) "
                        f"was already received; demo webhook ids must be unique")
