"""Agency registration and the ingestion of signed agency events (contract sections 2-5)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.agencies import catalogue, repository, signing
from app.agencies.catalogue import LINKABLE_KINDS
from app.agencies.models import AGENCY_KINDS, Agency, AgencySecret, ReceivedEvent
from app.agencies.schemas import Envelope
from app.cases import service as cases_service
from app.cases.models import Case
from app.cases.projection import version_of
from app.core import crypto
from app.core.db import upsert_ignore, utcnow
from app.core.i18n import LONDON
from app.core.problems import Problem

AGENCY_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
WEBHOOK_ID_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")


# --- registration (an operator action) --------------------------------------------------------

class AgencyError(Exception):
    pass


def add_agency(session: Session, secret_key: str, agency_id: str, kind: str, name: str,
               endpoint_url: str | None = None) -> tuple[Agency, str]:
    if not AGENCY_ID_PATTERN.match(agency_id):
        raise AgencyError("agency_id must be a lower-case slug such as met-police")
    if kind not in AGENCY_KINDS:
        raise AgencyError(f"kind must be one of {', '.join(AGENCY_KINDS)}")
    if repository.get_agency(session, agency_id) is not None:
        raise AgencyError(f"agency {agency_id} already exists")
    agency = Agency(agency_id=agency_id, kind=kind, name=name.strip(), endpoint_url=endpoint_url)
    session.add(agency)
    session.flush()
    secret = _add_secret(session, secret_key, agency)
    session.commit()
    return agency, secret


def _add_secret(session: Session, secret_key: str, agency: Agency) -> str:
    secret = signing.new_secret()
    session.add(AgencySecret(agency_pk=agency.id,
                             secret_encrypted=crypto.encrypt(secret_key, secret)))
    return secret


def rotate_secret(session: Session, secret_key: str, agency_id: str) -> tuple[Agency, str]:
    """Adds a secret; the old ones stay valid until retired."""
    agency = _require(session, agency_id)
    secret = _add_secret(session, secret_key, agency)
    session.commit()
    return agency, secret


def retire_secrets(session: Session, agency_id: str) -> int:
    """Retires every active secret but the newest. Returns how many were retired."""
    agency = repository.get_agency_with_active_secrets(session, agency_id)
    if agency is None:
        raise AgencyError(f"no agency {agency_id}")
    older = sorted(agency.secrets, key=lambda s: s.id)[:-1]
    for secret in older:
        secret.retired_at = utcnow()
    session.commit()
    return len(older)


def _require(session: Session, agency_id: str) -> Agency:
    agency = repository.get_agency(session, agency_id)
    if agency is None:
        raise AgencyError(f"no agency {agency_id}")
    return agency


def active_secrets(agency: Agency, secret_key: str) -> list[str]:
    return [crypto.decrypt(secret_key, s.secret_encrypted) for s in agency.secrets
            if s.retired_at is None]


# --- ingestion --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    status: int  # 202 accepted or 200 duplicate
    event_id: str

    def body(self) -> dict[str, str]:
        return {"status": "accepted" if self.status == 202 else "duplicate",
                "event_id": self.event_id}


@dataclass(frozen=True)
class EventFacts:
    """The stored event as the rest of the pipeline sees it."""

    id: int
    type: str
    occurred_at: datetime
    webhook_id: str
    agency_id: str


def ingest(session: Session, secret_key: str, agency_id: str, body: bytes,
           headers: Mapping[str, str]) -> Outcome:
    """Verifies, validates and applies one event in one transaction, committing before return.

    Raises Problem for every rejection; a rejection leaves nothing behind.
    """
    agency, secrets = repository.agency_and_active_secrets(session, agency_id)
    if agency is None:
        raise Problem(404, "unknown-agency", "No agency is registered with that agency_id.")
    text = _verify_signature([crypto.decrypt(secret_key, s) for s in secrets], body, headers)
    webhook_id = headers["webhook-id"]
    if not WEBHOOK_ID_PATTERN.match(webhook_id):
        raise Problem(422, "invalid-event", "webhook-id must be 1-255 printable ASCII characters.",
                      errors=[{"field": "header.webhook-id", "message": "invalid format"}])
    body_hash = hashlib.sha256(body).hexdigest()
    # The insert below is the duplicate check; a delivery of a webhook-id already accepted is
    # answered as a duplicate (or a conflict) whatever it would be refused for now.
    try:
        envelope, data = parse_event(text)
        spec = catalogue.CATALOGUE[envelope.type]
        if agency.kind not in spec.kinds:
            raise Problem(403, "type-not-allowed",
                          f"A {agency.kind} agency may not send {envelope.type} events.")
        case = _authorised_case(session, agency, envelope)
        _check_references(session, agency, case, envelope.type, data)
    except Problem:
        previous = repository.find_received(session, agency.id, webhook_id)
        if previous is None:
            raise
        return _duplicate_or_conflict(previous, webhook_id, body_hash)

    event_pk = upsert_ignore(session, ReceivedEvent, {
        "agency_pk": agency.id, "webhook_id": webhook_id, "body_sha256": body_hash,
        "type": envelope.type, "crime_reference": envelope.crime_reference,
        "case_pk": case.id if case else None, "occurred_at": envelope.occurred_at,
        "received_at": utcnow(), "data": data,
    }, conflict_columns=["agency_pk", "webhook_id"])
    if event_pk is None:  # a concurrent delivery of the same webhook-id committed first
        session.rollback()
        previous = repository.find_received(session, agency.id, webhook_id)
        assert previous is not None
        return _duplicate_or_conflict(previous, webhook_id, body_hash)

    facts = EventFacts(event_pk, envelope.type, envelope.occurred_at, webhook_id, agency_id)
    if case is None:
        case = _open_case(session, envelope, data, facts)
    cases_service.apply_event(session, case, agency, facts, data,
                              version_of(envelope.occurred_at, agency_id, webhook_id))
    session.commit()
    return Outcome(202, webhook_id)


def _verify_signature(secrets: list[str], body: bytes, headers: Mapping[str, str]) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(422, "invalid-event", "The body is not UTF-8 JSON.",
                      errors=[{"field": "body", "message": "not UTF-8"}]) from None
    try:
        signing.verify(text, headers, secrets)
    except signing.SignatureError as exc:
        raise Problem(401, "invalid-signature", f"Signature verification failed: {exc}.") from None
    return text


def _duplicate_or_conflict(previous: ReceivedEvent, webhook_id: str, body_hash: str) -> Outcome:
    if previous.body_sha256 == body_hash:
        return Outcome(200, webhook_id)
    raise Problem(409, "webhook-id-reused",
                  "This webhook-id was already used by this agency with a different body.")


def _error(location: tuple[Any, ...], message: str) -> dict[str, str]:
    return {"field": ".".join(str(p) for p in location), "message": message}


def _nul_errors(value: Any, location: tuple[Any, ...] = ()) -> Iterator[dict[str, str]]:
    """Every string (name or value) holding a NUL character: valid JSON, but PostgreSQL stores
    it in neither text nor JSONB, so such an event could only ever fail (a 503 the agency would
    retry for ever) instead of being refused as the bad input it is."""
    if isinstance(value, str):
        if "\x00" in value:
            yield _error(location or ("body",), "contains a NUL character (\\u0000)")
    elif isinstance(value, dict):
        for name, item in value.items():
            where = (*location, name.replace("\x00", "\\u0000"))
            if "\x00" in name:
                yield _error(where, "the name contains a NUL character (\\u0000)")
            yield from _nul_errors(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_errors(item, (*location, index))


def parse_event(text: str) -> tuple[Envelope, dict[str, Any]]:
    """Parses and validates the envelope and the type's data; 422 listing every field error."""
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise Problem(422, "invalid-event", "The body is not valid JSON.",
                      errors=[{"field": "body", "message": str(exc)}]) from None
    if not isinstance(raw, dict):
        raise Problem(422, "invalid-event", "The body must be a JSON object.",
                      errors=[{"field": "body", "message": "not an object"}])
    errors = list(_nul_errors(raw))
    envelope = None
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        errors += [_error(e["loc"], e["msg"]) for e in exc.errors()]
    event_type = raw.get("type")
    spec = catalogue.spec_for(event_type) if isinstance(event_type, str) else None
    if isinstance(event_type, str) and spec is None:
        errors.append(_error(("type",), f"unknown event type {event_type!r}"))
    data: dict[str, Any] = {}
    if spec is not None and isinstance(raw.get("data"), dict):
        try:
            data = spec.schema.model_validate(raw["data"]).model_dump(mode="json", by_alias=True)
        except ValidationError as exc:
            errors += [_error(("data", *e["loc"]), e["msg"]) for e in exc.errors()]
    if errors or envelope is None:
        raise Problem(422, "invalid-event", "The event does not match the contract's schema.",
                      errors=errors)
    return envelope, data


def _authorised_case(session: Session, agency: Agency, envelope: Envelope) -> Case | None:
    """The (locked) case the event is for, or None for a new case.opened."""
    from app.cases import repository as cases

    case, linked = cases.lock_case_for_agency(session, envelope.crime_reference, agency.id)
    if envelope.type == "case.opened":
        if case is not None:
            raise Problem(409, "case-exists", "A case with this crime_reference already exists.")
        return None
    if case is None:
        raise Problem(404, "unknown-case", "No case has this crime_reference (yet). If the "
                      "case.opened event is still on its way, retry later.")
    # `linked` was read before the lock was granted: a link committed meanwhile needs a look.
    if not linked and not cases.is_linked(session, case.id, agency.id):
        raise Problem(403, "not-linked", "This agency is not linked to the case.")
    return case


def _check_references(session: Session, agency: Agency, case: Case | None, event_type: str,
                      data: dict[str, Any]) -> None:
    from app.cases import repository as cases

    if case is not None:
        victim_ref = catalogue.victim_ref_of(event_type, data)
        known = victim_ref is None or victim_ref in cases.victim_pks_by_ref(session, case.id)
        if not known and event_type != "victim.added":
            field = "data.victim.victim_ref" if "victim" in data else "data.victim_ref"
            raise Problem(422, "invalid-event", "victim_ref is not a victim of this case.",
                          errors=[_error((field,), "not a victim of this case")])
    if event_type == "case.agency_linked":
        target = repository.get_agency(session, data["agency_id"])
        if target is None:
            raise Problem(422, "invalid-event", "No agency is registered with that agency_id.",
                          errors=[_error(("data.agency_id",), "unknown agency")])
        if target.kind not in LINKABLE_KINDS[agency.kind] and target.id != agency.id:
            raise Problem(403, "link-not-allowed",
                          f"A {agency.kind} agency may not link a {target.kind} agency.")
    if event_type.startswith("request.") or event_type == "message.replied":
        from app.outbound.service import request_for_reply

        if case is None or request_for_reply(session, case, data["request_id"]) is None:
            raise Problem(404, "unknown-request",
                          "No victim request on this case has this request_id.")


def _reported_at(value: str) -> datetime:
    if "T" in value:
        return datetime.fromisoformat(value)
    return datetime.combine(date.fromisoformat(value), time(0), tzinfo=LONDON)


def _open_case(session: Session, envelope: Envelope, data: dict[str, Any],
               facts: EventFacts) -> Case:
    reported_at = _reported_at(data["reported_at"])
    case = Case(crime_reference=envelope.crime_reference, crime_type=data["crime_type"],
                offence_group=data["offence_group"], borough=data["borough"],
                reported_at=reported_at, opened_at=envelope.occurred_at, stage="investigation",
                bail_conditions=[], release={}, versions={})
    session.add(case)
    try:
        session.flush()
    except IntegrityError:  # a concurrent case.opened with another webhook-id won
        session.rollback()
        raise Problem(409, "case-exists",
                      "A case with this crime_reference already exists.") from None
    repository.set_event_case(session, facts.id, case.id)
    return case
