"""The obligations engine: a pure function from a case's facts to the obligations they create.

No database here. `service.recompute()` loads the facts (every received event of the case, the
victims, the hearings as projected, the agencies linked, the evidence recorded and the victims'
portal requests), calls `evaluate()` and stores the difference. Because the result depends only
on the set of facts, and events are always taken in (occurred_at, agency_id, webhook-id) order,
late and out-of-order events give the same obligations as in-order ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from functools import cached_property
from typing import Any

from app.agencies import catalogue
from app.core.i18n import LONDON
from app.obligations.rules import (
    INFORMED,
    INFORMED_SOURCES,
    RULES,
    SAFETY_CRITICAL,
    Period,
    Rule,
    has_enhanced_rights,
)

Order = tuple[datetime, str, str]


# --- facts --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EventFact:
    pk: int
    type: str
    occurred_at: datetime
    received_at: datetime
    agency_pk: int
    agency_id: str
    agency_kind: str
    webhook_id: str
    data: dict[str, Any]

    # Cached (the engine asks for these many times per event; a frozen dataclass allows it).
    @cached_property
    def key(self) -> str:
        """Stable across deliveries and recomputations: the agency's own idempotency key."""
        return f"{self.agency_id}:{self.webhook_id}"

    @cached_property
    def order(self) -> Order:
        return (self.occurred_at, self.agency_id, self.webhook_id)

    @cached_property
    def victim_ref(self) -> str | None:
        """The victim this event concerns, if it concerns one only."""
        return catalogue.victim_ref_of(self.type, self.data)

    def concerns(self, victim_ref: str | None) -> bool:
        mine = self.victim_ref
        return mine is None or victim_ref is None or mine == victim_ref

    @property
    def label(self) -> str:
        return f"{self.type} {self.key}"


@dataclass(frozen=True)
class VictimFact:
    pk: int
    ref: str
    # The victim's own choice of how often to hear (days) and when they made it: it governs
    # the regular-update periods that start after that moment.
    update_every_days: int | None = None
    chosen_at: datetime | None = None


@dataclass(frozen=True)
class HearingFact:
    hearing_id: str
    starts: datetime | None  # its time, or the first day of its warned-list window
    vacated: bool


@dataclass(frozen=True)
class EvidenceFact:
    victim_pk: int
    event_pk: int | None
    kind: str
    source: str
    at: datetime


@dataclass(frozen=True)
class RequestFact:
    """A victim's portal request that raised obligations (e.g. a VRR request)."""

    action: str
    victim_pk: int | None
    at: datetime


@dataclass
class CaseFacts:
    offence_group: str
    reported_at: datetime
    events: list[EventFact]
    victims: list[VictimFact]
    hearings: list[HearingFact] = field(default_factory=list)
    evidence: list[EvidenceFact] = field(default_factory=list)
    requests: list[RequestFact] = field(default_factory=list)
    # agency kind -> pk of the first agency of that kind linked to the case (any mapping: the
    # service passes one that queries only if an obligation's owner is not its trigger's sender)
    agency_by_kind: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.events = sorted(self.events, key=lambda e: e.order)


@dataclass(frozen=True)
class Computed:
    rule_id: str
    victim_pk: int | None
    trigger_key: str
    event_pk: int | None
    owner: str
    owner_agency_pk: int | None
    trigger_at: datetime
    due_at: datetime | None
    closes_at: datetime | None
    receipt_due_at: datetime | None
    met_at: datetime | None
    evidence: str | None
    enhanced: bool
    cancelled: bool = False

    @property
    def key(self) -> tuple[int | None, str, str]:
        return (self.victim_pk, self.rule_id, self.trigger_key)


# --- victims over time --------------------------------------------------------------------------

def _introduced(event: EventFact) -> list[dict[str, Any]]:
    """The victim objects an event carries (it introduces or updates these victims)."""
    if event.type == "case.opened":
        return list(event.data.get("victims") or [])
    if event.type in ("victim.added", "victim.updated"):
        return [event.data["victim"]]
    return []


class Victims:
    """Who was a victim of the case when, and whether they had enhanced rights then."""

    def __init__(self, facts: CaseFacts) -> None:
        self.facts = facts
        self.by_ref = {v.ref: v for v in facts.victims}
        self.history: dict[str, list[tuple[Order, dict[str, Any]]]] = {}
        self.joined: dict[str, EventFact] = {}
        for event in facts.events:  # in order: the first event naming a victim introduced them
            for victim in _introduced(event):
                ref = victim["victim_ref"]
                self.history.setdefault(ref, []).append((event.order, victim))
                self.joined.setdefault(ref, event)

    def targets(self, rule: Rule, event: EventFact) -> list[VictimFact | None]:
        """Whom an obligation raised by this event is owed to."""
        if rule.scope == "case":
            return [None]
        introduced = _introduced(event)
        if introduced:  # only the victims this event brought into the case
            refs = [v["victim_ref"] for v in introduced
                    if self.joined.get(v["victim_ref"]) is event]
        elif event.victim_ref is not None:
            refs = [event.victim_ref]
        else:  # everyone who was a victim of the case when it happened (ties included)
            refs = [ref for ref, first in self.joined.items()
                    if first.occurred_at <= event.occurred_at]
        return [self.by_ref[ref] for ref in refs if ref in self.by_ref]

    def enhanced(self, victim: VictimFact | None, at: Order) -> bool:
        """Enhanced rights as the police had described the victim at that moment."""
        if victim is None:
            return any(self.enhanced(v, at) for v in self.facts.victims)
        history = self.history.get(victim.ref) or []
        known = [payload for order, payload in history if order <= at] or \
            [payload for _order, payload in history[:1]]
        if not known:
            return has_enhanced_rights(None, None, self.facts.offence_group,
                                       self.facts.reported_at)
        latest = known[-1]
        born = latest.get("date_of_birth")
        return has_enhanced_rights(latest.get("enhanced_rights"),
                                   date.fromisoformat(born) if born else None,
                                   self.facts.offence_group, self.facts.reported_at)


# --- evaluation ---------------------------------------------------------------------------------

def evaluate(facts: CaseFacts, rules: Iterable[Rule] = RULES) -> list[Computed]:
    """Every event-derived obligation of the case, in a deterministic order."""
    victims = Victims(facts)
    by_type: dict[str, dict[int, Rule]] = {}  # event type -> the rules it may raise, in order
    for index, rule in enumerate(rules):
        for on in rule.triggers:
            by_type.setdefault(on.type, {})[index] = rule
    out: list[Computed] = []
    for event in facts.events:
        safety_critical = catalogue.is_safety_critical(event.type, event.data)
        candidates = dict(by_type.get(event.type, {}))
        if safety_critical:
            candidates |= by_type.get(SAFETY_CRITICAL, {})
        for _index, rule in sorted(candidates.items()):
            if not any(on.matches(event.type, event.data, facts.offence_group, safety_critical)
                       for on in rule.triggers):
                continue
            for victim in victims.targets(rule, event):
                if rule.rolling:
                    out.extend(_rolling(rule, event, victim, facts, victims))
                else:
                    out.append(_one(rule, event, victim, facts, victims))
    return out


def _owner_agency(rule: Rule, event: EventFact, facts: CaseFacts) -> int | None:
    if rule.owner == event.agency_kind:
        return event.agency_pk
    return facts.agency_by_kind.get(rule.owner)


def _informed_at(facts: CaseFacts, victim: VictimFact | None, event: EventFact,
                 sources: frozenset[str]) -> tuple[datetime, str] | None:
    found = [(e.at, f"informed: {e.source}") for e in facts.evidence
             if e.kind == INFORMED and e.event_pk == event.pk and e.source in sources
             and (victim is None or e.victim_pk == victim.pk)]
    return min(found) if found else None


def _first_evidence(rule: Rule, event: EventFact, victim: VictimFact | None, facts: CaseFacts,
                    trigger_at: datetime) -> tuple[datetime, str] | None:
    """The first moment the obligation was met, and by what. Evidence that already existed
    when the obligation arose (an earlier VPS offer, a VLO already assigned) meets it then."""
    wanted = rule.evidence
    ref = victim.ref if victim else None
    found: list[tuple[datetime, str]] = []
    if wanted.informed:
        informed = _informed_at(facts, victim, event, wanted.informed)
        if informed:
            found.append(informed)
    if wanted.events:
        found += [(max(e.occurred_at, trigger_at), e.label) for e in facts.events
                  if e.type in wanted.events and e.concerns(ref)]
    if wanted.actions:
        found += [(max(e.at, trigger_at), f"{e.kind}: {e.source}") for e in facts.evidence
                  if e.kind in wanted.actions and (victim is None or e.victim_pk == victim.pk)]
    if wanted.requests:
        found += [(r.at, f"request: {r.action}") for r in facts.requests
                  if r.action in wanted.requests and r.at >= event.occurred_at
                  and (victim is None or r.victim_pk == victim.pk)]
    return min(found) if found else None


def _first_hearing_start(facts: CaseFacts, after: datetime) -> datetime | None:
    starts = [h.starts for h in facts.hearings
              if not h.vacated and h.starts is not None and h.starts > after]
    return min(starts) if starts else None


def _cancelled_at(rule: Rule, event: EventFact, victim: VictimFact | None,
                  facts: CaseFacts) -> datetime | None:
    if not rule.cancelled_by and not rule.cancelled_by_actions:
        return None
    moments = [e.occurred_at for e in facts.events if e.order > event.order and any(
        on.matches(e.type, e.data, facts.offence_group, False) for on in rule.cancelled_by)]
    moments += [e.at for e in facts.evidence if e.kind in rule.cancelled_by_actions
                and (victim is None or e.victim_pk == victim.pk)]
    return min(moments) if moments else None


def _withdrawn(cancelled_at: datetime | None, met_at: datetime | None,
               due_at: datetime | None) -> bool:
    """Withdrawn before it was met and before it fell due (an overdue one stays breached)."""
    if cancelled_at is None:
        return False
    if met_at is not None and met_at <= cancelled_at:
        return False
    return due_at is None or cancelled_at <= due_at


def _one(rule: Rule, event: EventFact, victim: VictimFact | None, facts: CaseFacts,
         victims: Victims) -> Computed:
    enhanced = victims.enhanced(victim, event.order)
    period = rule.deadline(enhanced)
    start: datetime | None
    match rule.basis:
        case "received":
            start = event.received_at
        case "informed":
            informed = _informed_at(facts, victim, event, INFORMED_SOURCES)
            start = informed[0] if informed else None
        case _:
            start = event.occurred_at
    due_at = period.after(start) if start is not None else None
    if rule.before_first_hearing:
        due_at = _first_hearing_start(facts, event.occurred_at) or due_at
    trigger_at = start or event.occurred_at
    met = _first_evidence(rule, event, victim, facts, trigger_at)
    met_at = met[0] if met else None
    cancelled = _withdrawn(_cancelled_at(rule, event, victim, facts), met_at, due_at)
    return Computed(
        rule_id=rule.id, victim_pk=victim.pk if victim else None, trigger_key=event.key,
        event_pk=event.pk, owner=rule.owner, owner_agency_pk=_owner_agency(rule, event, facts),
        trigger_at=trigger_at, due_at=due_at,
        closes_at=rule.closes.after(start) if rule.closes and start else None,
        receipt_due_at=rule.receipt_within.after(event.occurred_at) if rule.receipt_within
        else None,
        met_at=met_at, evidence=met[1] if met else None, enhanced=enhanced, cancelled=cancelled,
    )


def _rolling(rule: Rule, start: EventFact, victim: VictimFact | None, facts: CaseFacts,
             victims: Victims) -> Iterator[Computed]:
    """One row per gap between the victim's updates, from `start` until the series ends.

    Each update meets the running period and starts the next. At the end event the running
    period is cancelled if not yet due; one already overdue stays unmet (breached).
    """
    ends = [e for e in facts.events if any(
        on.matches(e.type, e.data, facts.offence_group, False) for on in rule.until)]
    end = ends[0] if ends else None
    if end is not None and end.order <= start.order:
        return  # the victim joined after the stage this rule covers
    ref = victim.ref if victim else None
    updates = [e for e in facts.events
               if e.type in rule.evidence.events and e.concerns(ref) and e.order > start.order
               and (end is None or e.order <= end.order)]
    period_start = start
    for update in updates:
        yield _period(rule, period_start, victim, facts, victims, update)
        if update is end:
            return
        period_start = update
    last = _period(rule, period_start, victim, facts, victims, None)
    if end is not None and last.due_at is not None and end.occurred_at <= last.due_at:
        last = replace(last, cancelled=True)
    yield last


def _period(rule: Rule, start: EventFact, victim: VictimFact | None, facts: CaseFacts,
            victims: Victims, met_by: EventFact | None) -> Computed:
    enhanced = victims.enhanced(victim, start.order)
    deadline = rule.deadline(enhanced)
    if victim is not None and victim.update_every_days and victim.chosen_at is not None \
            and start.occurred_at >= victim.chosen_at:
        deadline = Period(victim.update_every_days, "days")
    return Computed(
        rule_id=rule.id, victim_pk=victim.pk if victim else None, trigger_key=start.key,
        event_pk=start.pk, owner=rule.owner, owner_agency_pk=_owner_agency(rule, start, facts),
        trigger_at=start.occurred_at, due_at=deadline.after(start.occurred_at),
        closes_at=None, receipt_due_at=None,
        met_at=met_by.occurred_at if met_by else None,
        evidence=met_by.label if met_by else None, enhanced=enhanced,
    )


def hearing_start(starts_at: datetime | None, window_from: Any) -> datetime | None:
    """A hearing's earliest possible start: its time, or the start of its warned-list window."""
    if starts_at is not None:
        return starts_at
    if window_from is not None:
        return datetime.combine(window_from, time.min, tzinfo=LONDON)
    return None
