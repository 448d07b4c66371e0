"""`tmc demo`: demo agencies and realistic London cases, fed through the real ingestion path.

Every event is signed with the agency's Standard Webhooks secret and handed to
`app.agencies.service.ingest`, exactly as a webhook delivery would be; what the victim does in
the portal (`Portal` steps) goes through the portal's domain services (app/demo/portal.py). A
case whose crime reference already exists is skipped whole, so loading twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
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
from app.demo import portal
from app.demo.agencies import DEMO_AGENCIES
from app.demo.cases import JOURNEYS, Frame, Journey, On, Portal, Step, resolve

__all__ = ["DemoError", "load_demo"]


class DemoError(RuntimeError):
    """The demo data or the database does not fit: a bug to fix, not a user error."""


def load_demo(session: Session, settings: Settings,
              journeys: Sequence[Journey] = JOURNEYS) -> dict[str, int]:
    """Registers the demo agencies if missing and ingests every journey not yet loaded."""
    secrets, agencies_created = _ensure_agencies(session, settings.secret_key)
    this_monday = _monday_of(datetime.now(LONDON).date())
    created = skipped = events = portal_actions = 0
    for journey in journeys:
        if case_repository.get_case_by_reference(session, journey.crime_reference) is not None:
            skipped += 1
            continue
        _load_journey(session, settings.secret_key, secrets, journey, journey.frame(this_monday))
        created += 1
        events += len(journey.agency_steps)
        portal_actions += len(journey.steps) - len(journey.agency_steps)
    return {"agencies": len(DEMO_AGENCIES), "agencies_created": agencies_created,
            "cases_created": created, "cases_skipped": skipped, "events": events,
            "portal_actions": portal_actions}


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
                  journey: Journey, frame: Frame) -> None:
    now = datetime.now(UTC)
    for number, step in enumerate(journey.steps, start=1):
        if isinstance(step, Portal):
            frame = _act(session, journey, step, frame, now)
            continue
        envelope = _envelope(journey, step, frame, now)
        webhook_id = f"demo-{journey.crime_reference.replace('/', '-')}-{number:02d}"
        _send(session, secret_key, secrets[step.agency_id], journey, step, webhook_id, envelope)


def _moment(journey: Journey, step: Step | Portal, frame: Frame, now: datetime) -> str:
    occurred_at = On(step.day, step.at).resolve(frame)
    if datetime.fromisoformat(occurred_at) > now:
        what = step.type if isinstance(step, Step) else f"portal {step.action}"
        raise DemoError(f"demo case {journey.crime_reference}: {what} on day {step.day} "
                        f"would be in the future; the journey needs more weeks_ago")
    return occurred_at


def _envelope(journey: Journey, step: Step, frame: Frame, now: datetime) -> dict[str, Any]:
    try:
        data = resolve(step.data, frame)
    except LookupError as error:
        raise DemoError(f"demo case {journey.crime_reference}: {step.type} on day "
                        f"{step.day}: {error}") from error
    return {"type": step.type, "occurred_at": _moment(journey, step, frame, now),
            "crime_reference": journey.crime_reference, "data": data}


def _act(session: Session, journey: Journey, step: Portal, frame: Frame,
         now: datetime) -> Frame:
    """The victim's portal step, done now as at its moment; returns the frame knowing the
    request it made."""
    at = datetime.fromisoformat(_moment(journey, step, frame, now))
    case = case_repository.get_case_by_reference(session, journey.crime_reference)
    victim = case_repository.get_victim(session, case.id, step.victim_ref) if case else None
    if case is None or victim is None:
        raise DemoError(f"demo case {journey.crime_reference}: portal {step.action} on day "
                        f"{step.day} needs the case and victim {step.victim_ref} first")
    try:
        request_id = portal.perform(session, case, victim, step, at, frame.requests)
    except (ValueError, LookupError) as error:  # the services' refusals are ValueErrors
        session.rollback()
        raise DemoError(f"demo case {journey.crime_reference}: portal {step.action} on day "
                        f"{step.day} was refused: {error}") from error
    if step.name and request_id is None:
        raise DemoError(f"demo case {journey.crime_reference}: portal {step.action} "
                        f"{step.name!r} made no request for later steps to answer")
    if not step.name:
        return frame
    return replace(frame, requests={**frame.requests, step.name: request_id})


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
