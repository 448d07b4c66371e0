"""Business rules of Victims' Code compliance: keeping each case's obligations up to date,
recording the evidence that meets them, the breach sweep, and how they are shown.

Event-derived obligations (origin "event") are recomputed whole from the case's facts on every
event and every piece of evidence (`recompute`), then the difference is stored: new rows are
inserted, changed rows updated, and rows no longer derived are marked cancelled (never
deleted). Portal-raised obligations (origin "portal") are opened and met by the portal features
that own them (`open_obligation`, `open_obligations_for`, `meet`, `cancel`).

`on_event`, `recompute`, `record_*`, `open_*`, `meet` and `cancel` run in the caller's
transaction and do not commit; `sweep_breaches` commits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from app.cases.models import Case, Victim
from app.cases.projection import Applied
from app.core.db import utcnow
from app.core.i18n import LONDON, translator
from app.obligations import engine, repository
from app.obligations.calendar import london_day
from app.obligations.models import Obligation, ObligationEvidence
from app.obligations.rules import (
    COMPLAINT_OWNER,
    INFORMED,
    INFORMED_SOURCES,
    OVERDUE,
    PORTAL_VIEW,
    RULE_ORDER,
    RULES,
    SUPPORT_DECLINED,
    VPS_PAGE_OPENED,
    rule,
    rules_raised_by,
    victim_has_enhanced_rights,
)

BREACHES = Counter("tmc_obligation_breaches_total",
                   "Victims' Code obligations found breached, by rule and owner",
                   ["rule", "owner"])

# Fields of an event-derived row that recomputation owns.
_COMPUTED_FIELDS = repository.COMPUTED_FIELDS


class ObligationError(Exception):
    """A call the rules do not allow (unknown rule, wrong kind of obligation, bad evidence)."""


def status_of(met_at: datetime | None, due_at: datetime | None, cancelled: bool,
              now: datetime) -> str:
    if cancelled:
        return "cancelled"
    if met_at is not None:
        return "met" if due_at is None or met_at <= due_at else "met_late"
    if due_at is not None and due_at < now:
        return "breached"
    return "open"


def _set_status(row: Obligation, status: str) -> None:
    if status == row.status:
        return
    if status == "breached":
        BREACHES.labels(rule=row.rule_id, owner=row.owner).inc()
    row.status = status


# --- recomputation ------------------------------------------------------------------------------

def on_event(session: Session, applied: Applied, now: datetime | None = None) -> None:
    """Called for every accepted agency event, in its transaction, after the projection."""
    _sync(session, applied.case, now or utcnow())


# Rules whose due date follows the case's hearings: only their triggers need the hearings.
_HEARING_TRIGGERS = frozenset(on.type for r in RULES if r.before_first_hearing
                              for on in r.triggers)

Key = tuple[int | None, str, str]


def load_facts(session: Session, case: Case,
               stored: Sequence[Any] | None = None) -> engine.CaseFacts:
    """Everything the engine needs about the case (`stored`: its obligations, if loaded)."""
    events = [engine.EventFact(pk=r.id, type=r.type, occurred_at=r.occurred_at,
                               received_at=r.received_at, agency_pk=r.agency_pk,
                               agency_id=r.agency_id, agency_kind=r.kind,
                               webhook_id=r.webhook_id, data=r.data)
              for r in repository.case_events(session, case.id)]
    victims = [engine.VictimFact(pk, ref, days, at if days is not None else None)
               for pk, ref, days, at in repository.victims_with_choices(session, case.id)]
    hearings = []
    if any(e.type in _HEARING_TRIGGERS for e in events):
        hearings = [engine.HearingFact(h.hearing_id,
                                       engine.hearing_start(h.starts_at, h.window_from),
                                       h.status == "vacated")
                    for h in repository.hearing_starts(session, case.id)]
    evidence = [engine.EvidenceFact(*e) for e in repository.evidence_rows(session, case.id)]
    if stored is None:
        stored = repository.stored_obligations(session, case.id)
    requests = [engine.RequestFact(rule(o.rule_id).raised_by or o.rule_id, o.victim_pk,
                                   o.trigger_at)
                for o in stored if o.origin == "portal" and o.status != "cancelled"]
    return engine.CaseFacts(offence_group=case.offence_group, reported_at=case.reported_at,
                            events=events, victims=victims, hearings=hearings,
                            evidence=evidence, requests=requests,
                            agency_by_kind=_FirstAgencyByKind(session, case.id))


class _FirstAgencyByKind(Mapping[str, int]):
    """`_first_agency_by_kind`, queried on first use: most events' obligations are owed by the
    agency that sent them, and then the engine never asks."""

    def __init__(self, session: Session, case_pk: int) -> None:
        self._session, self._case_pk = session, case_pk
        self._loaded: dict[str, int] | None = None

    def _first(self) -> dict[str, int]:
        if self._loaded is None:
            self._loaded = _first_agency_by_kind(self._session, self._case_pk)
        return self._loaded

    def __getitem__(self, kind: str) -> int:
        return self._first()[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first())

    def __len__(self) -> int:
        return len(self._first())


def _first_agency_by_kind(session: Session, case_pk: int) -> dict[str, int]:
    first: dict[str, int] = {}
    for agency_pk, kind in repository.linked_agencies(session, case_pk):  # first linked first
        first.setdefault(kind, agency_pk)
    return first


def recompute(session: Session, case: Case, now: datetime | None = None) -> list[Obligation]:
    """Brings the case's event-derived obligations in line with its facts; returns them (the
    computed ones, in the engine's order)."""
    keys = _sync(session, case, now or utcnow())
    rows = {(o.victim_pk, o.rule_id, o.trigger_key): o
            for o in repository.obligations_of_case(session, case.id, "event", fresh=True)}
    return [rows[key] for key in keys]


def _sync(session: Session, case: Case, now: datetime) -> list[Key]:
    """Recomputes and writes only what changed, with plain statements (no ORM objects): this
    runs on every event. Returns the computed keys in the engine's order."""
    session.flush()  # the projection's pending rows (hearings, victims) are facts too
    existing = repository.stored_obligations(session, case.id)
    computed = engine.evaluate(load_facts(session, case, existing))
    stored = {(o.victim_pk, o.rule_id, o.trigger_key): o for o in existing
              if o.origin == "event"}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for item in computed:
        values = {name: getattr(item, name) for name in _COMPUTED_FIELDS}
        status = status_of(item.met_at, item.due_at, item.cancelled, now)
        row = stored.pop(item.key, None)
        if row is None:
            inserts.append({"case_pk": case.id, "victim_pk": item.victim_pk,
                            "rule_id": item.rule_id, "origin": "event",
                            "trigger_key": item.trigger_key, "status": status, **values})
            _count_breach(None, status, item.rule_id, item.owner)
        elif row.status != status or _changed(row, values):
            updates.append({"pk": row.id, "status": status, **values})
            _count_breach(row.status, status, item.rule_id, item.owner)
    for orphan in stored.values():  # no longer derived: superseded by a late event
        if orphan.status != "cancelled":
            updates.append({"pk": orphan.id, "status": "cancelled",
                            **{name: orphan._mapping[name] for name in _COMPUTED_FIELDS}})
    repository.insert_obligations(session, inserts)
    repository.update_obligations(session, updates)
    _expire_loaded(session, [u["pk"] for u in updates])
    return [item.key for item in computed]


def _changed(row: Any, values: dict[str, Any]) -> bool:
    stored = row._mapping
    return any(stored[name] != value for name, value in values.items())


def _count_breach(old: str | None, new: str, rule_id: str, owner: str) -> None:
    if new == "breached" and old != "breached":
        BREACHES.labels(rule=rule_id, owner=owner).inc()


def _expire_loaded(session: Session, pks: list[int]) -> None:
    """ORM objects of rows just written with plain statements reload on next access."""
    for pk in pks:
        loaded = session.identity_map.get(identity_key(Obligation, pk))
        if loaded is not None:
            session.expire(loaded)


# --- evidence -----------------------------------------------------------------------------------

def record_informed(session: Session, victim_pk: int, event_pk: int, at: datetime,
                    source: str) -> list[Obligation]:
    """The victim (or their representative) demonstrably had the information of this event at
    `at`: a provider's delivery receipt, a view in the portal, or an acknowledgement. Re-evaluates
    the case's obligations (each is met at the first such moment)."""
    if source not in INFORMED_SOURCES:
        raise ObligationError(f"source must be one of {', '.join(sorted(INFORMED_SOURCES))}")
    case, _changed = _add_informed(session, victim_pk, [event_pk], at, source)
    return recompute(session, case)


# Rules a view in the portal meets. (The review windows that start when the victim is informed
# are triggered by events that also trigger one of these, so a view starts them too.)
PORTAL_VIEW_RULES = tuple(r.id for r in RULES if PORTAL_VIEW in r.evidence.informed)


def events_awaiting_portal_view(session: Session, case_pk: int, victim_pk: int,
                                entry_pks: Sequence[int]) -> list[int]:
    """Of the events behind the timeline entries the victim (or their representative) was
    shown, those a view would count for: an unmet obligation of the victim that a portal view
    meets, and no view recorded yet. One query; usually empty."""
    return repository.events_awaiting_evidence(session, case_pk, victim_pk, entry_pks,
                                               PORTAL_VIEW_RULES, INFORMED, PORTAL_VIEW)


def record_portal_views(session: Session, victim_pk: int, event_pks: Sequence[int],
                        at: datetime) -> int:
    """The victim (or their representative) was shown these events in the portal at `at`:
    `record_informed(..., "portal_view")` for each, with one lock of the case and one
    recomputation for all of them. Returns how many events got new (or earlier) evidence."""
    if not event_pks:
        return 0
    case, changed = _add_informed(session, victim_pk, event_pks, at, PORTAL_VIEW)
    if changed:
        _sync(session, case, utcnow())
    return changed


def _add_informed(session: Session, victim_pk: int, event_pks: Sequence[int], at: datetime,
                  source: str) -> tuple[Case, int]:
    """Locks the victim's case and keeps the earliest 'informed' evidence per event; returns
    the case and how many events got new (or earlier) evidence."""
    if at.tzinfo is None:
        raise ObligationError("evidence times must carry a time zone")
    case, _victim = _lock_victim_case(session, victim_pk)
    wanted = set(event_pks)
    if repository.events_of_case(session, list(wanted), case.id) != wanted:
        raise ObligationError("those events are not all part of the victim's case")
    existing = repository.evidence_for_events(session, victim_pk, list(wanted), INFORMED,
                                              source)
    changed = 0
    for event_pk in sorted(wanted):
        changed += _keep_earliest(session, existing.get(event_pk), case.id, victim_pk, event_pk,
                                  INFORMED, source, at)
    return case, changed


def record_vps_page_opened(session: Session, victim_pk: int, at: datetime) -> bool:
    """The victim opened the Victim Personal Statement page: the VPS was offered (Right 7).
    True when that was new (or earlier than recorded)."""
    return _record_action(session, victim_pk, VPS_PAGE_OPENED, at)


def record_support_declined(session: Session, victim_pk: int, at: datetime) -> bool:
    """The victim said in the portal that they do not want a referral to support (Right 4).
    True when that was new (or earlier than recorded)."""
    return _record_action(session, victim_pk, SUPPORT_DECLINED, at)


def _record_action(session: Session, victim_pk: int, kind: str, at: datetime) -> bool:
    """Keeps the earliest moment the victim did this in the portal and recomputes the case's
    obligations. A repeat (every later opening of the VPS page) changes nothing, so it is
    answered from one read: no lock of the case, no recomputation, nothing written."""
    recorded = repository.find_evidence(session, victim_pk, None, kind, "portal")
    if recorded is not None and recorded.at <= at:
        return False
    case, _victim = _lock_victim_case(session, victim_pk)
    _add_evidence(session, case.id, victim_pk, None, kind, "portal", at)
    _sync(session, case, utcnow())
    return True


def recompute_for_victim(session: Session, victim_pk: int) -> list[Obligation]:
    """After a victim's own choice changed what is owed (e.g. how often to hear)."""
    case, _victim = _lock_victim_case(session, victim_pk)
    return recompute(session, case)


def _lock_victim_case(session: Session, victim_pk: int) -> tuple[Case, Victim]:
    victim = repository.get_victim(session, victim_pk)
    if victim is None:
        raise ObligationError("no such victim")
    case = repository.lock_case(session, victim.case_pk)
    assert case is not None  # a victim always has a case
    return case, victim


def _add_evidence(session: Session, case_pk: int, victim_pk: int, event_pk: int | None,
                  kind: str, source: str, at: datetime) -> None:
    """Keeps the earliest moment per (victim, event, kind, source)."""
    if at.tzinfo is None:
        raise ObligationError("evidence times must carry a time zone")
    existing = repository.find_evidence(session, victim_pk, event_pk, kind, source)
    _keep_earliest(session, existing, case_pk, victim_pk, event_pk, kind, source, at)


def _keep_earliest(session: Session, existing: ObligationEvidence | None, case_pk: int,
                   victim_pk: int, event_pk: int | None, kind: str, source: str,
                   at: datetime) -> bool:
    """Adds the evidence, or moves the stored row earlier; False when it changes nothing."""
    if existing is None:
        session.add(ObligationEvidence(case_pk=case_pk, victim_pk=victim_pk, event_pk=event_pk,
                                       kind=kind, source=source, at=at))
        return True
    if at < existing.at:
        existing.at = at
        return True
    return False


# --- portal-raised obligations ------------------------------------------------------------------

def open_obligation(session: Session, case: Case, victim: Victim | None, rule_id: str,
                    trigger_at: datetime, trigger_key: str, *, owner: str | None = None,
                    owner_agency_pk: int | None = None,
                    now: datetime | None = None) -> Obligation:
    """Raises one portal obligation (a review request, a complaint, a message). Idempotent on
    (case, victim, rule, trigger_key). `owner` is needed for complaint-ack (the kind of agency
    complained about)."""
    the_rule = rule(rule_id)
    if the_rule.raised_by is None:
        raise ObligationError(f"{rule_id} is derived from agency events, not raised directly")
    if the_rule.owner == COMPLAINT_OWNER and owner is None:
        raise ObligationError(f"{rule_id} needs the owner (the agency complained about)")
    if trigger_at.tzinfo is None:
        raise ObligationError("trigger_at must carry a time zone")
    now = now or utcnow()
    existing = repository.find_obligation(session, case.id, victim.id if victim else None,
                                          rule_id, trigger_key)
    if existing is not None:
        return existing
    enhanced = victim is not None and victim_has_enhanced_rights(case, victim)
    owner = owner or the_rule.owner
    if owner_agency_pk is None and owner != "victim":
        owner_agency_pk = _first_agency_by_kind(session, case.id).get(owner)
    due_at = the_rule.deadline(enhanced).after(trigger_at)
    row = Obligation(case_pk=case.id, victim_pk=victim.id if victim else None, rule_id=rule_id,
                     origin="portal", owner=owner, owner_agency_pk=owner_agency_pk,
                     trigger_key=trigger_key, trigger_at=trigger_at, due_at=due_at,
                     enhanced=enhanced, status="open")
    session.add(row)
    _set_status(row, status_of(None, due_at, False, now))
    recompute(session, case, now)  # a request may meet a window (VRR)
    return row


def open_obligations_for(session: Session, case: Case, victim: Victim | None, action: str,
                         trigger_at: datetime, trigger_key: str,
                         **kwargs: Any) -> list[Obligation]:
    """Every obligation a portal action raises (a VRR request: acknowledgement and decision)."""
    raised = rules_raised_by(action)
    if not raised:
        raise ObligationError(f"no rule is raised by {action!r}")
    return [open_obligation(session, case, victim, r.id, trigger_at, trigger_key, **kwargs)
            for r in raised]


def meet(session: Session, case: Case, victim: Victim | None, rule_id: str, trigger_key: str,
         at: datetime, evidence: str) -> Obligation:
    """Records what met a portal obligation; the first moment counts."""
    row = _portal_row(session, case, victim, rule_id, trigger_key)
    if at.tzinfo is None:
        raise ObligationError("evidence times must carry a time zone")
    if row.met_at is None or at < row.met_at:
        row.met_at, row.evidence = at, evidence[:300]
    if row.status != "cancelled":
        _set_status(row, status_of(row.met_at, row.due_at, False, utcnow()))
    session.flush()
    return row


def cancel(session: Session, case: Case, victim: Victim | None, rule_id: str,
           trigger_key: str) -> Obligation:
    """Withdraws a portal obligation (the victim withdrew the request or complaint)."""
    row = _portal_row(session, case, victim, rule_id, trigger_key)
    if row.met_at is None:
        row.status = "cancelled"
        recompute(session, case)
    return row


def _portal_row(session: Session, case: Case, victim: Victim | None, rule_id: str,
                trigger_key: str) -> Obligation:
    rule(rule_id)
    row = repository.find_obligation(session, case.id, victim.id if victim else None, rule_id,
                                     trigger_key)
    if row is None:
        raise ObligationError(f"no {rule_id} obligation with that trigger")
    if row.origin != "portal":
        raise ObligationError(f"{rule_id} is met by agency events and recorded evidence")
    return row


# --- the breach sweep ---------------------------------------------------------------------------

def sweep_breaches(session: Session, now: datetime | None = None,
                   case_pk: int | None = None) -> int:
    """Marks every open obligation past its due time as breached; commits; returns how many."""
    now = now or utcnow()
    breached = repository.mark_breached(session, now, case_pk)
    session.commit()
    for rule_id, owner in breached:
        BREACHES.labels(rule=rule_id, owner=owner).inc()
    return len(breached)


# --- showing obligations ------------------------------------------------------------------------

def _rfc3339(value: datetime | None) -> str | None:
    return value.astimezone(LONDON).isoformat() if value is not None else None


def effective_status(row: Obligation, now: datetime) -> str:
    """The stored status, or breached for an open one whose due time has passed since the last
    sweep (reads never write)."""
    if row.status == "open" and row.due_at is not None and row.due_at < now:
        return "breached"
    return row.status


def obligation_as_json(row: Obligation, victim_ref: str | None, owner_agency_id: str | None,
                       now: datetime) -> dict[str, Any]:
    """One obligation in the shape of `tmc obligations --json` (operations.md)."""
    the_rule = rule(row.rule_id)
    received_late = None
    if row.receipt_due_at is not None:
        received_late = row.trigger_at > row.receipt_due_at
    return {
        "id": row.rule_id, "victim_ref": victim_ref, "owner": row.owner,
        "trigger_at": _rfc3339(row.trigger_at), "due_at": _rfc3339(row.due_at),
        "met_at": _rfc3339(row.met_at), "status": effective_status(row, now),
        "right": the_rule.right, "owner_agency_id": owner_agency_id,
        "trigger_key": row.trigger_key, "origin": row.origin, "enhanced": row.enhanced,
        "evidence": row.evidence, "closes_at": _rfc3339(row.closes_at),
        "receipt_due_at": _rfc3339(row.receipt_due_at), "received_late": received_late,
    }


def _display_order(item: dict[str, Any]) -> tuple[Any, ...]:
    return (item["trigger_at"] and datetime.fromisoformat(item["trigger_at"]),
            RULE_ORDER[item["id"]], item["victim_ref"] or "", item["trigger_key"])


def obligations_as_json(session: Session, case: Case,
                        now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or utcnow()
    items = [obligation_as_json(row, victim_ref, agency_id, now)
             for row, victim_ref, agency_id in repository.obligations_for_display(session,
                                                                                   case.id)]
    return sorted(items, key=_display_order)


# --- next steps for the victim ------------------------------------------------------------------

@dataclass(frozen=True)
class NextStep:
    rule_id: str
    owner: str
    due_at: datetime
    overdue: bool
    text: str


def next_steps(session: Session, case: Case, victim: Victim, language: str | None,
               now: datetime | None = None) -> list[NextStep]:
    """What must happen next for this victim and by when, soonest first, in their language."""
    now = now or utcnow()
    t = translator(language)
    steps = []
    for row in repository.pending_for_victim(session, case.id, victim.id):
        assert row.due_at is not None
        the_rule = rule(row.rule_id)
        when = _when(t, row.due_at, the_rule.deadline(row.enhanced).unit == "hours")
        closes = _when(t, row.closes_at, False) if row.closes_at else ""
        overdue = row.due_at < now
        text = t._(the_rule.next_step).format(date=when, closes=closes)
        if overdue:
            text = f"{text} {t._(OVERDUE)}"
        steps.append(NextStep(row.rule_id, row.owner, row.due_at, overdue, text))
    return steps


def _when(t: Any, moment: datetime, with_time: bool) -> str:
    return t.datetime(moment) if with_time else t.date(london_day(moment))

