"""Business rules of the case record: applying events, the timeline, and the case as read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.agencies import catalogue
from app.agencies.models import Agency
from app.cases import projection, repository
from app.cases.models import Case, Hearing, OfficerAssignment, TimelineEntry, Victim
from app.contact import service as contact_service
from app.core.i18n import LONDON, Translator, translator
from app.notifications import service as notifications_service
from app.obligations import service as obligations_service
from app.outbound import service as outbound_service

# Personal data a timeline entry must not keep: the victim reads it from their own record.
_TIMELINE_DROPS = {"case.opened": {"victims"}, "victim.added": {"victim"},
                   "victim.updated": {"victim"}}


def apply_event(session: Session, case: Case, agency: Agency, event: Any, data: dict[str, Any],
                version: str) -> projection.Applied:
    """Everything one accepted event changes, in the caller's transaction."""
    applied = projection.Applied(case=case, event=event, agency=agency, data=data,
                                 version=version)
    projection.apply_event(session, applied)
    outbound_service.on_event(session, applied)  # a reply to a victim's request
    contact_service.on_event(session, applied)  # hand-overs and replies to victims' messages
    add_timeline_entry(session, applied)
    obligations_service.on_event(session, applied)
    notifications_service.on_event(session, applied)
    return applied


def timeline_params(session: Session, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    params = {k: v for k, v in data.items() if k not in _TIMELINE_DROPS.get(event_type, ())}
    if event_type == "case.agency_linked":
        from app.agencies.repository import get_agency

        target = get_agency(session, data["agency_id"])
        params["agency_name"] = target.name if target else data["agency_id"]
    return params


def add_timeline_entry(session: Session, a: projection.Applied) -> None:
    victim_ref = catalogue.victim_ref_of(a.event.type, a.data)
    victim_pk = None
    if victim_ref is not None:
        victim_pk = repository.victim_pks_by_ref(session, a.case.id)[victim_ref]
    repository.add_timeline_entry(session, {
        "case_pk": a.case.id, "event_pk": a.event.id, "event_id": a.event.webhook_id,
        "type": a.event.type, "occurred_at": a.event.occurred_at, "agency_pk": a.agency.id,
        "victim_pk": victim_pk, "params": timeline_params(session, a.event.type, a.data)})


def entry_text(entry: TimelineEntry, t: Translator) -> str:
    return catalogue.render(entry.type, entry.params, t)


# --- the case as read ---------------------------------------------------------------------

@dataclass
class Officer:
    role: str
    assignment: OfficerAssignment
    agency: Agency
    previous: OfficerAssignment | None  # set when this assignment was a hand-over


@dataclass
class CaseView:
    case: Case
    agencies: list[Agency]
    victims: list[Victim]
    officers: dict[str, Officer]
    hearings: list[Hearing]
    timeline: list[TimelineEntry]
    agencies_by_pk: dict[int, Agency]


def officers_of(session: Session, case_pk: int) -> dict[str, Officer]:
    assignments = list(repository.officer_assignments(session, case_pk))
    agencies = repository.agencies_by_pk(session, {a.agency_pk for a in assignments})
    officers: dict[str, Officer] = {}
    for assignment in assignments:  # oldest version first, so the last one per role wins
        previous = officers.get(assignment.role)
        officers[assignment.role] = Officer(assignment.role, assignment,
                                            agencies[assignment.agency_pk],
                                            previous.assignment if previous else None)
    return officers


def view_case(session: Session, case: Case, victim_pk: int | None = None,
              everyone: bool = False) -> CaseView:
    agencies = list(repository.linked_agencies(session, case.id))
    entries = list(repository.timeline(session, case.id, victim_pk, everyone=everyone))
    by_pk = {a.id: a for a in agencies}
    by_pk |= repository.agencies_by_pk(session, {e.agency_pk for e in entries
                                                 if e.agency_pk and e.agency_pk not in by_pk})
    victims = list(repository.victims_of(session, case.id))
    return CaseView(case=case, agencies=agencies, victims=victims,
                    officers=officers_of(session, case.id),
                    hearings=by_date(repository.hearings_of(session, case.id)), timeline=entries,
                    agencies_by_pk=by_pk)


def by_date(hearings: Sequence[Hearing]) -> list[Hearing]:
    """Hearings in date order (a warned-list window by its first day); undated ones last."""
    def key(hearing: Hearing) -> tuple[int, str, str]:
        when = hearing.starts_at.astimezone(LONDON).date() if hearing.starts_at else \
            hearing.window_from
        return (0, when.isoformat(), hearing.hearing_id) if when else (1, "", hearing.hearing_id)
    return sorted(hearings, key=key)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _mask(value: str | None, keep: int = 2) -> str | None:
    if not value:
        return None
    if "@" in value:
        local, domain = value.split("@", 1)
        return local[:1] + "***@" + domain
    return "*" * (len(value) - keep) + value[-keep:]


def enhanced_rights(case: Case, victim: Victim) -> bool:
    from app.obligations.rules import victim_has_enhanced_rights

    return victim_has_enhanced_rights(case, victim)


def case_as_json(view: CaseView, language: str = "en") -> dict[str, Any]:
    """The shape of `tmc case show --json` (operations.md). Contact details are masked."""
    t = translator(language)
    case = view.case
    return {
        "crime_reference": case.crime_reference,
        "crime_type": case.crime_type,
        "offence_group": case.offence_group,
        "borough": case.borough,
        "stage": case.stage,
        "suspect_status": case.suspect_status,
        "bail_conditions": case.bail_conditions,
        "agencies": [a.agency_id for a in view.agencies],
        "victims": [{
            "victim_ref": v.victim_ref,
            "enhanced_rights": enhanced_rights(case, v),
            "email": _mask(v.email), "mobile": _mask(v.mobile),
            "preferred_language": v.preferred_language, "discreet": v.discreet,
            "has_representative": v.representative is not None,
        } for v in view.victims],
        "officers": {role: {
            "name": o.assignment.name, "rank": o.assignment.rank,
            "agency_id": o.agency.agency_id, "since": _iso(o.assignment.assigned_at),
            "previous": o.previous.name if o.previous else None,
        } for role, o in view.officers.items()},
        "hearings": [{
            "hearing_id": h.hearing_id, "hearing_type": h.hearing_type, "court": h.court,
            "address": h.address, "starts_at": _iso(h.starts_at),
            "window": ({"from": h.window_from.isoformat(), "to": h.window_to.isoformat()}
                       if h.window_from and h.window_to else None),
            "status": h.status, "outcome": h.outcome,
        } for h in view.hearings],
        "timeline": [{
            "event_id": e.event_id, "type": e.type, "occurred_at": _iso(e.occurred_at),
            "agency_id": view.agencies_by_pk[e.agency_pk].agency_id if e.agency_pk else None,
            "victim_ref": _victim_ref(view, e.victim_pk), "text": entry_text(e, t),
        } for e in view.timeline],
    }


def _victim_ref(view: CaseView, victim_pk: int | None) -> str | None:
    if victim_pk is None:
        return None
    return next(v.victim_ref for v in view.victims if v.id == victim_pk)
