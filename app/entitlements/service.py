"""Business rules of a victim's rights: when each applies (from the case's events), what the
victim may do, where each request goes, and how agency replies move it.

The state of a right is its stored state (`entitlement`, once anything happened) moved on by
what the case now says (`settle`: the right opens, lapses, or was decided). Every move goes
through `app.entitlements.rights` and is refused there if the right does not allow it; a refused
or invalid action raises before anything is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.agencies.models import Agency
from app.cases.models import Case, Victim
from app.core.db import utcnow
from app.core.i18n import N_
from app.entitlements import repository
from app.entitlements import rights as r
from app.entitlements.models import Entitlement, EntitlementTransition
from app.entitlements.schemas import details_for, parse_vps_draft
from app.obligations import repository as obligations_repository
from app.obligations import service as obligations
from app.obligations.rules import (
    VCS_MIN_CUSTODY_MONTHS,
    VCS_OFFENCE_GROUPS,
    VRR_REQUEST_CPS,
    VRR_REQUEST_POLICE,
    rule,
)
from app.outbound import repository as outbound_repository
from app.outbound import service as outbound
from app.outbound.models import AgencyRequest

# Which outbound request kind each right sends (contract s.6).
REQUEST_KIND = {r.VPS: "vps", r.VRR: "vrr", r.SPECIAL_MEASURES: "special_measures",
                r.RJ: "rj_interest", r.VCS: "vcs_preference", r.SUPPORT: "support_referral"}

VERDICTS = frozenset({"guilty_plea", "convicted", "acquitted", "dismissed"})
# Decisions a victim may ask to have reviewed, and who reviews them.
VRR_DECISIONS = {"investigation.closed": "police", "charging.decision": "cps",
                 "charges.altered": "cps", "prosecution.discontinued": "cps"}


# --- what the case says ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    """A decision the victim may ask to have reviewed (VRR)."""

    key: str  # the obligations engine's trigger key: <agency_id>:<webhook-id>
    type: str
    reviewer: str  # police | cps
    occurred_at: datetime


@dataclass
class Facts:
    """What the case's events say about one victim's rights."""

    charged: bool = False
    sentenced: bool = False
    trial_over: bool = False
    closed: bool = False
    vps_offered: bool = False
    vcs_eligible: bool = False
    measures_decided: dict[str, Any] | None = None
    decisions: list[Decision] = field(default_factory=list)
    referrals: list[dict[str, Any]] = field(default_factory=list)
    pretrial_visit_offered: bool = False


def _for_victim(data: dict[str, Any], victim_ref: str) -> bool:
    return data.get("victim_ref") in (None, victim_ref)


# The event types `facts_for` reads (the others change no fact: not read at all).
FACT_EVENTS = frozenset({
    "charging.decision", "sentence.passed", "hearing.outcome", "investigation.closed",
    "prosecution.discontinued", "vps.offered", "vcs.referred", "special_measures.decided",
    "support.referred", "support.accepted", "support.closed", "pretrial_visit.offered",
    *VRR_DECISIONS,
})


def facts_for(session: Session, case: Case, victim: Victim) -> Facts:
    facts = Facts()
    for event_type, occurred_at, agency_id, _kind, webhook_id, data in \
            repository.case_events(session, case.id, FACT_EVENTS):
        mine = _for_victim(data, victim.victim_ref)
        if event_type == "charging.decision" and data["decision"] == "charge":
            facts.charged, facts.closed = True, False
        elif event_type == "sentence.passed":
            facts.sentenced = facts.trial_over = True
            months = data.get("custody_months") or 0
            if months >= VCS_MIN_CUSTODY_MONTHS and case.offence_group in VCS_OFFENCE_GROUPS:
                facts.vcs_eligible = True
        elif event_type == "hearing.outcome" and data["outcome"] in VERDICTS:
            facts.trial_over = True
        elif event_type in ("investigation.closed", "prosecution.discontinued") or (
                event_type == "charging.decision" and data["decision"] != "charge"):
            facts.closed = True
        elif event_type == "vps.offered" and mine:
            facts.vps_offered = True
        elif event_type == "vcs.referred" and mine:
            facts.vcs_eligible = True
        elif event_type == "special_measures.decided" and mine:
            facts.measures_decided = data
        elif event_type in ("support.referred", "support.accepted", "support.closed") and mine:
            facts.referrals.append({"type": event_type, "at": occurred_at, **data})
        elif event_type == "pretrial_visit.offered" and mine:
            facts.pretrial_visit_offered = True
        if event_type in VRR_DECISIONS and data.get("vrr_eligible") and (
                event_type != "charging.decision" or data["decision"] == "no_further_action"):
            facts.decisions.append(Decision(f"{agency_id}:{webhook_id}", event_type,
                                            VRR_DECISIONS[event_type], occurred_at))
    return facts


def _opens(right: str, facts: Facts) -> bool:
    match right:
        case r.VPS:
            return facts.charged or facts.vps_offered
        case r.SPECIAL_MEASURES:
            return facts.charged
        case r.VCS:
            return facts.vcs_eligible
        case _:  # VRR rows exist only for a decision; RJ and support apply from the report
            return True


def _lapses(right: str, facts: Facts, window: VrrWindow | None, now: datetime) -> bool:
    match right:
        case r.VPS:
            return facts.sentenced or (facts.closed and not facts.trial_over)
        case r.SPECIAL_MEASURES:
            return facts.trial_over or facts.closed
        case r.VRR:
            return window is not None and window.closes_at < now
        case _:
            return False


def settle(right: str, state: str, facts: Facts, window: VrrWindow | None = None,
           now: datetime | None = None) -> str:
    """The stored state moved on by what the case now says (each move through the machine)."""
    machine = r.machine(right)
    now = now or utcnow()
    if state == r.NOT_YET and _opens(right, facts):
        state = machine.next(state, r.OPENS)
    if right == r.SPECIAL_MEASURES and facts.measures_decided \
            and machine.allows(state, r.DECIDED):
        state = machine.next(state, r.DECIDED)
    if _lapses(right, facts, window, now) and machine.allows(state, r.LAPSES):
        state = machine.next(state, r.LAPSES)
    return state


# --- VRR windows ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class VrrWindow:
    prompt_by: datetime | None  # CPS: ask within 10 working days if you can
    closes_at: datetime  # the last moment a request is accepted


def vrr_window(session: Session, case: Case, victim: Victim, decision: Decision) -> VrrWindow:
    """From the obligations engine's window row (it counts from when the victim was informed);
    before the victim is informed, from the decision itself."""
    rule_id = "vrr-police-window" if decision.reviewer == "police" else "vrr-cps-window"
    row = obligations_repository.find_obligation(session, case.id, victim.id, rule_id,
                                                 decision.key)
    the_rule = rule(rule_id)
    if row is not None and row.due_at is not None:
        if the_rule.closes is None:
            return VrrWindow(None, row.due_at)
        return VrrWindow(row.due_at, row.closes_at or the_rule.closes.after(row.trigger_at))
    last = (the_rule.closes or the_rule.standard).after(decision.occurred_at)
    prompt = the_rule.standard.after(decision.occurred_at) if the_rule.closes else None
    return VrrWindow(prompt, last)


def vrr_token(decision_key: str) -> str:
    """The decision's id in URLs (an agency's webhook-id may hold any printable character)."""
    return hashlib.sha256(decision_key.encode()).hexdigest()[:16]


# --- the rights as the victim sees them -----------------------------------------------------------

@dataclass
class Right:
    right: str
    key: str
    state: str
    row: Entitlement | None
    request: AgencyRequest | None = None
    agency: Agency | None = None
    transitions: list[EntitlementTransition] = field(default_factory=list)
    decision: Decision | None = None
    window: VrrWindow | None = None

    @property
    def token(self) -> str:
        return vrr_token(self.key) if self.key else ""

    @property
    def label(self) -> str:
        return r.STATE_LABELS[self.state]

    @property
    def tag(self) -> str:
        return r.STATE_TAGS[self.state]

    @property
    def draft(self) -> dict[str, Any]:
        return (self.row.draft if self.row and self.row.draft else {})


@dataclass
class Rights:
    case: Case
    victim: Victim
    facts: Facts
    items: list[Right]

    def get(self, right: str, key: str = "") -> Right | None:
        return next((i for i in self.items if i.right == right and i.key == key), None)

    def vrr(self, token: str) -> Right | None:
        return next((i for i in self.items if i.right == r.VRR and i.token == token), None)


def rights_of(session: Session, case: Case, victim: Victim,
              now: datetime | None = None) -> Rights:
    """Every right of the victim on the case, in its current state. Reads only."""
    facts = facts_for(session, case, victim)
    rows = {(e.right, e.key): e for e in repository.entitlements_of(session, victim.id)}
    states = {key: row.state for key, row in rows.items()}
    items = _settled(session, case, victim, facts, states, now or utcnow(), rows)
    _attach_requests(session, items)
    return Rights(case, victim, facts, items)


def _settled(session: Session, case: Case, victim: Victim, facts: Facts,
             states: dict[tuple[str, str], str], now: datetime,
             rows: dict[tuple[str, str], Entitlement] | None = None) -> list[Right]:
    """Each right in its current state, from the stored states by (right, key); with `rows`,
    each carries its stored entitlement."""
    wanted: list[tuple[str, str, Decision | None]] = [(r.SUPPORT, "", None), (r.VPS, "", None)]
    wanted += [(r.VRR, d.key, d) for d in facts.decisions]
    wanted += [(r.SPECIAL_MEASURES, "", None), (r.RJ, "", None), (r.VCS, "", None)]
    rows = rows or {}
    items = []
    for right, key, decision in wanted:
        window = vrr_window(session, case, victim, decision) if decision else None
        state = settle(right, states.get((right, key), r.NOT_YET), facts, window, now)
        items.append(Right(right, key, state, rows.get((right, key)), decision=decision,
                           window=window))
    return items


def _attach_requests(session: Session, items: list[Right]) -> None:
    rows = [i.row for i in items if i.row is not None]
    requests = repository.requests_by_pk(session, [x.request_pk for x in rows if x.request_pk])
    agencies = repository.agencies_by_pk(session, list({q.agency_pk for q in requests.values()}))
    moves: dict[int, list[EntitlementTransition]] = {}
    for move in repository.transitions_of(session, [x.id for x in rows]):
        moves.setdefault(move.entitlement_pk, []).append(move)
    for item in items:
        if item.row is None:
            continue
        item.transitions = moves.get(item.row.id, [])
        if item.row.request_pk in requests:
            item.request = requests[item.row.request_pk]
            item.agency = agencies.get(item.request.agency_pk)


# --- where requests go ---------------------------------------------------------------------------

def route(session: Session, case: Case, right: str, facts: Facts,
          decision: Decision | None = None, purpose: str | None = None) -> Agency | None:
    """The agency that must act on the victim's request."""
    if purpose == "pretrial_visit":
        return outbound.agency_for(session, case, "witness_care")
    match right:
        case r.VRR:
            assert decision is not None
            return outbound.agency_for(session, case, decision.reviewer)
        case r.SPECIAL_MEASURES:
            return (outbound.agency_for(session, case, "witness_care")
                    or outbound.agency_for(session, case, "cps"))
        case r.RJ if facts.sentenced:
            return (outbound.agency_for(session, case, "probation")
                    or outbound.agency_for(session, case, "police"))
        case r.VCS:
            return outbound.agency_for(session, case, "probation")
        case r.SUPPORT:
            return (outbound.agency_for(session, case, "support")
                    or outbound.agency_for(session, case, "police"))
        case _:
            return outbound.agency_for(session, case, "police")


# --- acting on a right ----------------------------------------------------------------------------

def _sends(right: str, trigger: str) -> bool:
    if trigger in (r.REQUEST, r.UPDATE):
        return True
    return right == r.VCS and trigger == r.DECLINE  # opting out must reach probation


def act(session: Session, case: Case, victim: Victim, right: str, trigger: str,
        form: dict[str, str], *, key: str = "", actor: str = "victim",
        now: datetime | None = None) -> Entitlement:
    """The victim moves a right (asks, updates, says no, changes their mind); commits.

    Raises EntitlementError (the form), InvalidTransition or Unavailable (the right's or the
    case's state) before anything is written."""
    if trigger not in r.VICTIM_TRIGGERS:
        raise ValueError(f"{trigger} is not something a victim does")
    now = now or utcnow()
    rights = rights_of(session, case, victim, now)
    item = rights.get(right, key)
    if item is None:
        raise r.InvalidTransition(right, r.NOT_YET, trigger)
    new_state = r.machine(right).next(item.state, trigger)
    request = None
    if _sends(right, trigger):
        details = details_for(right, trigger, form, item.decision)
        agency = route(session, case, right, rights.facts, item.decision)
        opting_out = right == r.VCS and trigger == r.DECLINE
        if agency is None and not opting_out:  # an opt-out is kept even with nobody to tell
            raise r.Unavailable({"agency": N_(
                "The organisation that deals with this is not working on your case yet. "
                "Try again later, or send a message to your officer.")})
        if agency is not None:
            request = outbound.submit(session, case=case, victim=victim, agency=agency,
                                      kind=REQUEST_KIND[right], details=details, now=now)
    row = _row(session, case, victim, right, key, item.state, now)
    _move(session, row, new_state, trigger, actor, request, now)
    if right == r.VRR and request is not None:
        assert item.decision is not None
        action = VRR_REQUEST_POLICE if item.decision.reviewer == "police" else VRR_REQUEST_CPS
        obligations.open_obligations_for(session, case, victim, action, now,
                                         request.request_id, now=now)
    if right == r.SUPPORT and trigger == r.DECLINE:
        obligations.record_support_declined(session, victim.id, now)
    session.commit()
    return row


def _row(session: Session, case: Case, victim: Victim, right: str, key: str, state: str,
         now: datetime) -> Entitlement:
    row = repository.find(session, victim.id, right, key, lock=True)
    if row is None:
        row = Entitlement(case_pk=case.id, victim_pk=victim.id, right=right, key=key,
                          state=state, created_at=now, updated_at=now)
        session.add(row)
        session.flush()
    row.state = state  # what settling derived from the case
    return row


def _move(session: Session, row: Entitlement, new_state: str, trigger: str, actor: str,
          request: AgencyRequest | None, at: datetime) -> None:
    session.add(EntitlementTransition(entitlement_pk=row.id, from_state=row.state,
                                      to_state=new_state, trigger=trigger, actor=actor,
                                      request_pk=request.id if request else None, at=at))
    row.state, row.updated_at = new_state, at
    if request is not None:
        row.request_pk = request.id
    session.flush()


def save_vps_draft(session: Session, case: Case, victim: Victim, form: dict[str, str],
                   now: datetime | None = None) -> Entitlement:
    """Keeps the victim's unfinished statement; commits. Only while a VPS can be made."""
    now = now or utcnow()
    item = rights_of(session, case, victim, now).get(r.VPS)
    assert item is not None
    if not r.machine(r.VPS).allows(item.state, r.REQUEST) and \
            not r.machine(r.VPS).allows(item.state, r.UPDATE):
        raise r.InvalidTransition(r.VPS, item.state, "save a draft")
    statement, reading = parse_vps_draft(form)
    row = _row(session, case, victim, r.VPS, "", item.state, now)
    row.draft = {"statement": statement, "reading": reading, "saved_at": now.isoformat()}
    row.updated_at = now
    session.commit()
    return row


def record_vps_page_opened(session: Session, victim: Victim, now: datetime | None = None) -> None:
    """Opening the VPS page counts as the VPS being offered (Right 7); commits."""
    obligations.record_vps_page_opened(session, victim.id, now or utcnow())
    session.commit()


def request_pretrial_visit(session: Session, case: Case, victim: Victim,
                           now: datetime | None = None) -> AgencyRequest:
    """Asks the Witness Care Unit for a visit to the court before the trial; commits. Raises
    Unavailable when the case is not at that point."""
    facts = facts_for(session, case, victim)
    if not facts.charged or facts.trial_over or facts.closed:
        raise r.Unavailable({"visit": N_("A court visit can be arranged once the suspect "
                                         "has been charged and before the trial.")})
    agency = route(session, case, r.SUPPORT, facts, purpose="pretrial_visit")
    if agency is None:
        raise r.Unavailable({"visit": N_("The Witness Care Unit is not working on your case "
                                         "yet. Try again later.")})
    request = outbound.submit(session, case=case, victim=victim, agency=agency,
                              kind="support_referral",
                              details={"service": "pretrial_court_visit"}, now=now)
    session.commit()
    return request


def visit_requests(session: Session, case: Case, victim: Victim) -> list[AgencyRequest]:
    return [q for q in outbound_repository.requests_of_victim(session, case.id, victim.id,
                                                              ["support_referral"])
            if q.details.get("service") == "pretrial_court_visit"]


# --- agency replies -------------------------------------------------------------------------------

def on_reply(session: Session, request: AgencyRequest, event_type: str,
             data: dict[str, Any]) -> None:
    """An agency replied to a request a right sent (inside the event's transaction). Replies
    to an older request, or late ones the right has moved past, change nothing; they never
    refuse the agency's event."""
    trigger = r.ACK if event_type == "request.acknowledged" else r.COMPLETE
    at = request.completed_at if trigger == r.COMPLETE else request.acknowledged_at
    at = at or utcnow()
    row = repository.by_request(session, request.id)
    if row is not None and r.machine(row.right).allows(row.state, trigger):
        _move(session, row, r.machine(row.right).next(row.state, trigger), trigger, "agency",
              None, at)
    if request.kind == "vrr":
        _meet_vrr(session, request, trigger, at)


def _meet_vrr(session: Session, request: AgencyRequest, trigger: str, at: datetime) -> None:
    case = session.get(Case, request.case_pk)
    victim = session.get(Victim, request.victim_pk) if request.victim_pk else None
    assert case is not None
    agency = session.get(Agency, request.agency_pk)
    police = agency is not None and agency.kind == "police"
    met: list[tuple[str, str]] = []
    if police:  # a decision also shows the request was received
        met.append(("vrr-police-ack", "request.acknowledged from the police"))
    if trigger == r.COMPLETE:
        met.append(("vrr-police-done", "request.completed from the police") if police
                   else ("vrr-cps-done", "request.completed from the CPS"))
    for rule_id, evidence in met:
        if obligations_repository.find_obligation(session, case.id, victim.id if victim else None,
                                                 rule_id, request.request_id) is not None:
            obligations.meet(session, case, victim, rule_id, request.request_id, at, evidence)


for _kind in REQUEST_KIND.values():
    outbound.register_reply_handler(_kind, on_reply)


def rights_summary(rights: Rights) -> Sequence[Right]:
    """The rights worth showing on the case page: those the victim can use or is using."""
    return [i for i in rights.items if i.state not in (r.NOT_YET, r.EXPIRED)]


def case_page_rights(session: Session, case: Case, victim: Victim,
                     now: datetime | None = None) -> Sequence[Right]:
    """`rights_summary(rights_of(...))` for the case page's "Your rights" panel, which shows
    only each right's state: read from plain (right, key, state) rows, without the entitlement
    objects, their requests, agencies and transitions (`row` stays None)."""
    facts = facts_for(session, case, victim)
    states = {(row.right, row.key): row.state for row in repository.states_of(session, victim.id)}
    return rights_summary(Rights(case, victim, facts,
                                 _settled(session, case, victim, facts, states, now or utcnow())))
