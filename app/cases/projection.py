"""Applies one accepted agency event to the case record.

Every derived field is a last-writer-wins register keyed by the event's `Version`, so the case
converges to the same state whatever order events arrive in, and a late event never overwrites
a newer one. Ties on `occurred_at` are broken by agency and webhook-id, deterministically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.agencies.models import Agency
from app.agencies.schemas import DISCREET_BY_DEFAULT
from app.cases import repository
from app.cases.models import Case, Hearing, OfficerAssignment, Representative, Victim

Data = dict[str, Any]


def version_of(occurred_at: datetime, agency_id: str, webhook_id: str) -> str:
    """A string that sorts like (occurred_at, agency_id, webhook_id)."""
    stamp = occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{stamp}|{agency_id}|{webhook_id}"


@dataclass
class Applied:
    case: Case
    event: Any  # app.agencies.service.EventFacts
    agency: Agency
    data: Data
    version: str


def _newer(versions: dict[str, Any], field: str, version: str) -> bool:
    current = versions.get(field)
    return current is None or version > current


def _set_fields(row: Case | Hearing, fields: dict[str, Any], version: str) -> None:
    """Sets each field whose stored version is older than this event's."""
    versions = dict(row.versions or {})
    for name, value in fields.items():
        if _newer(versions, name, version):
            setattr(row, name, value)
            versions[name] = version
    row.versions = versions  # reassign: JSON columns only track replacement


# --- stage --------------------------------------------------------------------------------

def stage_after(event_type: str, data: Data) -> str | None:
    """The stage an event puts the case in, or None if it does not move the stage."""
    match event_type:
        case "case.opened" | "suspect.arrested" | "suspect.interviewed" | "suspect.bailed" | \
                "suspect.released_under_investigation":
            return "investigation"
        case "charging.decision":
            return "charged" if data["decision"] == "charge" else "closed"
        case "investigation.closed" | "out_of_court_disposal" | "prosecution.discontinued":
            return "closed"
        case "hearing.scheduled" | "appeal.lodged":
            return "at_court"
        case "hearing.outcome":
            return "closed" if data["outcome"] in ("acquitted", "dismissed") else "at_court"
        case "sentence.passed" | "appeal.decided":
            return "sentenced"
    return None


# --- victims ------------------------------------------------------------------------------

def _victim_fields(victim: Data, offence_group: str) -> dict[str, Any]:
    contact = victim.get("contact") or {}
    discreet = contact.get("discreet")
    quiet = contact.get("quiet_hours") or {}
    return {
        "given_name": victim["given_name"],
        "family_name": victim["family_name"],
        "date_of_birth": _as_date(victim.get("date_of_birth")),
        "email": victim.get("email"),
        "mobile": victim.get("mobile"),
        "preferred_language": victim.get("preferred_language") or "en",
        "enhanced_categories": list(victim.get("enhanced_rights") or []),
        "sms_allowed": contact.get("sms_allowed", True),
        "email_allowed": contact.get("email_allowed", True),
        "discreet": offence_group in DISCREET_BY_DEFAULT if discreet is None else discreet,
        "quiet_from": quiet.get("from"),
        "quiet_to": quiet.get("to"),
        "needs": list(victim.get("needs") or []),
    }


def upsert_victim(session: Session, case: Case, victim: Data, version: str) -> Victim:
    row = repository.get_victim(session, case.id, victim["victim_ref"])
    fields = _victim_fields(victim, case.offence_group)
    if row is None:
        row = Victim(case_pk=case.id, victim_ref=victim["victim_ref"], version=version, **fields)
        session.add(row)
        session.flush()
        _set_representative(session, row, None, victim.get("representative"))
    elif version > row.version:
        for name, value in fields.items():
            setattr(row, name, value)
        row.version = version
        _set_representative(session, row, row.representative, victim.get("representative"))
    return row


def _set_representative(
    session: Session, victim: Victim, current: Representative | None, given: Data | None
) -> None:
    if given is None:
        if current is not None:
            session.delete(current)
        return
    fields = {"name": given["name"], "relation": given.get("relationship"),
              "email": given.get("email"), "mobile": given.get("mobile")}
    if current is None:
        session.add(Representative(victim_pk=victim.id, **fields))
    else:
        for name, value in fields.items():
            setattr(current, name, value)


# --- per event type -----------------------------------------------------------------------

def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _victims(session: Session, a: Applied) -> None:
    upsert_victim(session, a.case, a.data["victim"], a.version)


def _case_opened(session: Session, a: Applied) -> None:
    # The police force that opens the case is linked to it (contract s.4).
    repository.link_agency(session, a.case.id, a.agency.id, a.event.occurred_at, a.agency.id)
    for victim in a.data["victims"]:
        upsert_victim(session, a.case, victim, a.version)


def _assign(role: str) -> Callable[[Session, Applied], None]:
    def assign(session: Session, a: Applied) -> None:
        session.add(OfficerAssignment(
            case_pk=a.case.id, agency_pk=a.agency.id, role=a.data.get("role", role),
            name=a.data["name"], rank=a.data.get("rank"), team=a.data.get("team"),
            email=a.data.get("email"), phone=a.data.get("phone"),
            working_pattern=a.data.get("working_pattern"),
            assigned_at=a.event.occurred_at, version=a.version, event_pk=a.event.id,
        ))
    return assign


def _agency_linked(session: Session, a: Applied) -> None:
    from app.agencies.repository import get_agency

    target = get_agency(session, a.data["agency_id"])
    assert target is not None  # checked before the event was accepted
    repository.link_agency(session, a.case.id, target.id, a.event.occurred_at, a.agency.id)


def _suspect(status: str) -> Callable[[Session, Applied], None]:
    def apply(session: Session, a: Applied) -> None:
        fields: dict[str, Any] = {"suspect_status": status}
        if status == "bailed":
            fields |= {"bail_conditions": a.data.get("bail_conditions") or [],
                       "bail_return_date": _as_date(a.data.get("return_date"))}
        elif status == "released_under_investigation":
            fields |= {"bail_conditions": [], "bail_return_date": None}
        _set_fields(a.case, fields, a.version)
    return apply


def _bail_changed(session: Session, a: Applied) -> None:
    _set_fields(a.case, {"bail_conditions": a.data["bail_conditions"]}, a.version)


def _hearing_row(session: Session, a: Applied) -> Hearing:
    row = repository.get_hearing(session, a.case.id, a.data["hearing_id"])
    if row is None:  # a change may arrive before the listing it changes
        row = Hearing(case_pk=a.case.id, hearing_id=a.data["hearing_id"], status="scheduled",
                      versions={})
        session.add(row)
    return row


def _hearing_time(data: Data) -> dict[str, Any]:
    window = data.get("window")
    return {
        "starts_at": _as_datetime(data.get("starts_at")),
        "window_from": _as_date(window["from"]) if window else None,
        "window_to": _as_date(window["to"]) if window else None,
    }


def _hearing_scheduled(session: Session, a: Applied) -> None:
    fields = {"hearing_type": a.data["hearing_type"], "court": a.data["court"],
              "address": a.data.get("address"), "status": "scheduled", **_hearing_time(a.data)}
    _set_fields(_hearing_row(session, a), fields, a.version)


def _hearing_changed(session: Session, a: Applied) -> None:
    fields = {k: a.data[k] for k in ("court", "address") if a.data.get(k)}
    if a.data.get("court"):  # the old court's address does not apply to the new court
        fields["address"] = a.data.get("address")
    if a.data.get("starts_at") or a.data.get("window"):
        fields |= _hearing_time(a.data)
    _set_fields(_hearing_row(session, a), fields, a.version)


def _hearing_vacated(session: Session, a: Applied) -> None:
    _set_fields(_hearing_row(session, a), {"status": "vacated"}, a.version)


def _hearing_outcome(session: Session, a: Applied) -> None:
    _set_fields(_hearing_row(session, a), {"status": "concluded", "outcome": a.data["outcome"],
                                           "remand": a.data.get("remand")}, a.version)
    _set_fields(a.case, _suspect_after_outcome(a.data), a.version)


def _suspect_after_outcome(data: Data) -> dict[str, Any]:
    """What a hearing outcome says about the defendant's liberty. An acquittal or dismissal ends
    any remand or bail; otherwise the remand decides, and no remand means no conditions."""
    if data["outcome"] in ("acquitted", "dismissed"):
        return {"suspect_status": data["outcome"], "bail_conditions": []}
    match data.get("remand"):
        case "bail":
            return {"suspect_status": "bailed_by_court",
                    "bail_conditions": data.get("bail_conditions") or []}
        case "custody":
            return {"suspect_status": "remanded_in_custody", "bail_conditions": []}
        case "none":
            return {"suspect_status": "not_remanded", "bail_conditions": []}
    return {}


def _conditions_text(value: Any) -> str | None:
    if isinstance(value, list):
        return "; ".join(value)
    return value


def _release_scheduled(session: Session, a: Applied) -> None:
    release = {k: a.data.get(k) for k in ("release_month", "release_date") if a.data.get(k)}
    fields: dict[str, Any] = {"release": release}
    if a.data.get("licence_conditions"):
        fields["licence_conditions"] = _conditions_text(a.data["licence_conditions"])
    _set_fields(a.case, fields, a.version)


def _offender(status: str) -> Callable[[Session, Applied], None]:
    def apply(session: Session, a: Applied) -> None:
        fields: dict[str, Any] = {"suspect_status": status}
        if status == "sentenced":  # bail ends with sentence; licence conditions may follow
            fields["bail_conditions"] = []
        if a.data.get("licence_conditions"):
            fields["licence_conditions"] = _conditions_text(a.data["licence_conditions"])
        _set_fields(a.case, fields, a.version)
    return apply


APPLIERS: dict[str, Callable[[Session, Applied], None]] = {
    "case.opened": _case_opened,
    "victim.added": _victims,
    "victim.updated": _victims,
    "officer.assigned": _assign("oic"),
    "witness_care.assigned": _assign("witness_care"),
    "vlo.assigned": _assign("vlo"),
    "case.agency_linked": _agency_linked,
    "suspect.arrested": _suspect("arrested"),
    "suspect.interviewed": _suspect("interviewed"),
    "suspect.bailed": _suspect("bailed"),
    "suspect.released_under_investigation": _suspect("released_under_investigation"),
    "suspect.bail_conditions_changed": _bail_changed,
    "hearing.scheduled": _hearing_scheduled,
    "hearing.changed": _hearing_changed,
    "hearing.vacated": _hearing_vacated,
    "hearing.outcome": _hearing_outcome,
    "sentence.passed": _offender("sentenced"),
    "release.scheduled": _release_scheduled,
    "offender.released": _offender("released"),
    "offender.temporary_release": _offender("temporarily_released"),
    "offender.recalled": _offender("recalled"),
    "offender.escaped": _offender("escaped"),
}


def apply_event(session: Session, applied: Applied) -> None:
    stage = stage_after(applied.event.type, applied.data)
    if stage is not None:
        _set_fields(applied.case, {"stage": stage}, applied.version)
    applier = APPLIERS.get(applied.event.type)
    if applier is not None:
        applier(session, applied)


def current_officers(assignments: list[OfficerAssignment]) -> dict[str, OfficerAssignment]:
    """The latest assignment per role (assignments come oldest version first)."""
    return {a.role: a for a in assignments}
