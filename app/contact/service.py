"""Business rules of messages and escalations.

- A victim (or their representative) writes to the officer in charge: the message is stored,
  the police agency gets it as a victim request (app/outbound, kind "message"), the officer is
  emailed that there is something to read (never what), and the reply-to-victim service level
  starts (app/obligations, rule `reply-to-victim`).
- The officer replies in the staff console, or the police reply with a `message.replied`
  event; either meets the service level.
- `LADDERS` is the one place that says who holds what, until when: a message waits on the
  officer, then the supervisor, then the Victim Care Hub (periods read from the rule); an
  escalation waits on the supervisor then the Hub, or ("I feel unsafe") goes straight to the
  Hub as urgent. `climb_ladders` (a worker job) moves every overdue thread or escalation one rung
  up with a conditional UPDATE, so several workers move each once.
- A hand-over (`officer.assigned` replacing the officer in charge) moves open threads to the
  new officer; the victim sees who now has the case.

Functions named for a victim's or staff member's action commit; `on_event` and the reply
handlers run in an agency event's transaction and do not.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy.orm import Session

from app.cases import service as cases_service
from app.cases.models import Case, OfficerAssignment, Victim
from app.contact import repository
from app.contact.models import (
    HUB,
    OFFICER,
    OPEN,
    PENDING,
    RESOLVED,
    SUPERVISOR,
    ContactMessage,
    ContactStep,
    ContactThread,
    Escalation,
    StaffEmail,
)
from app.contact.schemas import (
    EscalationForm,
    MessageForm,
    ResolutionForm,
    parse_escalation,
    parse_message,
    parse_resolution,
)
from app.core.db import utcnow
from app.core.i18n import LONDON
from app.core.problems import Problem
from app.core.worker import notify_workers
from app.notifications import service as notifications
from app.obligations import rules as obligation_rules
from app.obligations import service as obligations
from app.obligations.rules import MESSAGE, Period, working_days
from app.outbound import repository as outbound_repository
from app.outbound import service as outbound

log = logging.getLogger("tmc.contact")

WAKE_TOPIC = "staff-emails"  # wakes only the staff email deliverer (app.core.worker)

# --- the ladders: who holds what, until when (the one place) -----------------------------------


@dataclass(frozen=True)
class Rung:
    holder: str  # officer | supervisor | hub
    until: Period  # counted from when the wait started (the first unanswered message)


Ladder = tuple[Rung, ...]
REPLY_RULE = "reply-to-victim"
# The Hub's own time once a message reaches it.
HUB_REPLY_DAYS = 1
_RULE_HOLDERS = {"supervisor": SUPERVISOR, "victim_care_hub": HUB}


def _reply_ladder() -> Ladder:
    """From the reply-to-victim rule: the officer until the first escalation, each escalation's
    holder until the next one, and the Hub for HUB_REPLY_DAYS more."""
    rule = obligation_rules.rule(REPLY_RULE)
    starts = [period for period, _who in rule.escalations]
    holders = [OFFICER] + [_RULE_HOLDERS[who] for _period, who in rule.escalations]
    last = starts[-1]
    ends = [*starts, Period(last.amount + HUB_REPLY_DAYS, last.unit)]
    return tuple(Rung(holder, end) for holder, end in zip(holders, ends, strict=True))


REPLY = "reply"
LADDERS: dict[str, Ladder] = {
    REPLY: _reply_ladder(),
    "cant_reach_officer": (Rung(SUPERVISOR, working_days(1)), Rung(HUB, working_days(2))),
    "something_wrong": (Rung(SUPERVISOR, working_days(1)), Rung(HUB, working_days(2))),
    "unsafe": (Rung(HUB, Period(2, "hours")),),
    "no_reply": (Rung(HUB, working_days(1)),),
}
URGENT_REASONS = frozenset({"unsafe"})


def rung_of(ladder: str, index: int) -> Rung:
    return LADDERS[ladder][index]


# --- errors -------------------------------------------------------------------------------------

class ContactError(ValueError):
    """Bad input: nothing was changed. `errors` maps a field to a message id."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- officers ---------------------------------------------------------------------------------

def current_officer(session: Session, case_pk: int, role: str = "oic"
                    ) -> OfficerAssignment | None:
    officer = cases_service.officers_of(session, case_pk).get(role)
    return officer.assignment if officer else None


def _person(assignment: OfficerAssignment | None) -> str | None:
    if assignment is None:
        return None
    return " ".join(x for x in (assignment.rank, assignment.name) if x)


def holder_name(session: Session, case_pk: int, holder: str | None) -> str | None:
    """The name of who holds it now (an officer's), or None for the Hub or nobody named."""
    if holder == OFFICER:
        return _person(current_officer(session, case_pk, "oic"))
    if holder == SUPERVISOR:
        return _person(current_officer(session, case_pk, "supervisor"))
    return None


# --- staff emails (the staff outbox) ----------------------------------------------------------

def queue_staff_email(session: Session, case_pk: int, to: str | None, template: str,
                      now: datetime) -> StaffEmail | None:
    """An email to a member of staff, delivered by the worker (app.contact.outbox). It carries
    the case's row id for the link, nothing else."""
    if not to:
        return None
    row = StaffEmail(case_pk=case_pk, to=to, template=template, params={"case_pk": case_pk},
                     status=PENDING,
                     next_attempt_at=now, attempts=0, created_at=now)
    session.add(row)
    notify_workers(session, WAKE_TOPIC)
    return row


def _email_holder(session: Session, case_pk: int, holder: str, template: str,
                  now: datetime) -> None:
    role = {OFFICER: "oic", SUPERVISOR: "supervisor"}.get(holder)
    if role is None:
        return  # the Hub works from its queue
    officer = current_officer(session, case_pk, role)
    queue_staff_email(session, case_pk, officer.email if officer else None, template, now)


# --- threads and messages -----------------------------------------------------------------------

def _step(session: Session, *, case_pk: int, victim_pk: int, kind: str, at: datetime,
          holder: str | None = None, holder_name: str | None = None,
          due_at: datetime | None = None, thread_pk: int | None = None,
          escalation_pk: int | None = None) -> ContactStep:
    step = ContactStep(case_pk=case_pk, victim_pk=victim_pk, thread_pk=thread_pk,
                       escalation_pk=escalation_pk, kind=kind, holder=holder,
                       holder_name=holder_name, due_at=due_at, at=at)
    session.add(step)
    return step


def _thread(session: Session, case: Case, victim: Victim) -> ContactThread:
    thread = repository.get_thread(session, case.id, victim.id, lock=True)
    if thread is None:
        officer = current_officer(session, case.id)
        thread = ContactThread(case_pk=case.id, victim_pk=victim.id,
                               officer_pk=officer.id if officer else None, rung=0)
        session.add(thread)
        session.flush()
    return thread


def _start_waiting(session: Session, thread: ContactThread, at: datetime) -> None:
    first = rung_of(REPLY, 0)
    thread.waiting_since, thread.rung, thread.holder = at, 0, first.holder
    thread.due_at = first.until.after(at)
    _step(session, case_pk=thread.case_pk, victim_pk=thread.victim_pk, thread_pk=thread.id,
          kind="raised", holder=first.holder, due_at=thread.due_at, at=at,
          holder_name=holder_name(session, thread.case_pk, first.holder))


def _trigger_key(message: ContactMessage) -> str:
    return f"message:{message.id}"


def _police(session: Session, case: Case) -> Any:
    return outbound.agency_for(session, case, "police")


def send_message(session: Session, case: Case, victim: Victim, author: str,
                 values: dict[str, str], now: datetime | None = None) -> ContactMessage:
    """A victim's (or representative's) message to the officer in charge. Commits; raises
    ContactError for bad input, changing nothing."""
    form: MessageForm = parse_message(values)
    if form.errors:
        raise ContactError(form.errors)
    if author not in ("victim", "representative"):
        raise ValueError("only a victim or their representative writes here")
    now = now or utcnow()
    repository.lock_case(session, case.id)
    thread = _thread(session, case, victim)
    message = ContactMessage(thread_pk=thread.id, case_pk=case.id, victim_pk=victim.id,
                             author=author, body=form.body, created_at=now)
    session.add(message)
    session.flush()
    if thread.waiting_since is None:
        _start_waiting(session, thread, now)
    obligations.open_obligations_for(session, case, victim, MESSAGE, now, _trigger_key(message),
                                     now=now)
    police = _police(session, case)
    if police is not None:
        request = outbound.submit(session, case=case, victim=victim, agency=police,
                                  kind="message", now=now,
                                  details={"message": form.body, "from": author})
        message.request_id = request.request_id
    officer = current_officer(session, case.id)
    queue_staff_email(session, case.id, officer.email if officer else None, "new_message", now)
    session.commit()
    return message


def _answer(session: Session, case: Case, victim: Victim, thread: ContactThread,
            reply: ContactMessage, now: datetime) -> None:
    """A reply meets every waiting message's service level and ends the wait."""
    for waiting in repository.unanswered(session, thread.id):
        waiting.replied_at = reply.created_at
        for rule in obligation_rules.rules_raised_by(MESSAGE):
            try:
                obligations.meet(session, case, victim, rule.id, _trigger_key(waiting),
                                 reply.created_at, f"reply by {reply.author}")
            except obligations.ObligationError:
                log.warning("no reply obligation for message %s", waiting.id)
    if thread.waiting_since is not None:
        _step(session, case_pk=case.id, victim_pk=victim.id, thread_pk=thread.id,
              kind="replied", holder=thread.holder, holder_name=reply.author_name,
              at=reply.created_at)
    thread.waiting_since, thread.due_at, thread.holder, thread.rung = None, None, None, 0
    for escalation in repository.open_no_reply(session, thread.id):
        _resolve(session, escalation, reply.author_name, None, now,
                 resolved_at=reply.created_at)


def staff_reply(session: Session, case: Case, victim: Victim, *, author: str, name: str,
                email: str, values: dict[str, str],
                now: datetime | None = None) -> ContactMessage:
    """An officer's (or supervisor's, or the Hub's) reply from the staff console. Commits."""
    form = parse_message(values)
    if form.errors:
        raise ContactError(form.errors)
    now = now or utcnow()
    repository.lock_case(session, case.id)
    thread = _thread(session, case, victim)
    reply = ContactMessage(thread_pk=thread.id, case_pk=case.id, victim_pk=victim.id,
                           author=author, author_name=name, staff_email=email, body=form.body,
                           created_at=now)
    session.add(reply)
    session.flush()
    _answer(session, case, victim, thread, reply, now)
    notifications.notify_victim(session, victim.id, "message.replied", now)
    session.commit()
    return reply


# --- agency events (in the event's transaction) -------------------------------------------------

def on_event(session: Session, applied: Any) -> None:
    """Called by app.cases.service.apply_event for every accepted event, after the projection."""
    match applied.event.type:
        case "officer.assigned":
            hand_over(session, applied.case, applied.event.occurred_at)
        case "message.replied":
            _agency_reply(session, applied)


def _agency_reply(session: Session, applied: Any) -> None:
    data = applied.data
    message = repository.message_by_request_id(session, applied.case.id, data["request_id"])
    if message is None:
        raise Problem(404, "unknown-request",
                      "No message from a victim on this case has this request_id.")
    victim = repository.get_victim(session, message.victim_pk)
    assert victim is not None
    if victim.victim_ref != data["victim_ref"]:
        raise Problem(422, "invalid-event", "victim_ref is not the victim who wrote the message.",
                      errors=[{"field": "data.victim_ref",
                               "message": "not the author of the message"}])
    request = outbound.request_for_reply(session, applied.case, data["request_id"])
    if request is not None:  # the police's reply completes the message request
        outbound.apply_reply(request, "request.completed", {"decision": "done"},
                             applied.event.occurred_at)
    _record_agency_reply(session, applied.case, victim, data.get("name") or applied.agency.name,
                         data["message"], applied.event.id, applied.event.occurred_at)


def _record_agency_reply(session: Session, case: Case, victim: Victim, name: str, body: str,
                         event_pk: int | None, at: datetime) -> ContactMessage:
    thread = _thread(session, case, victim)
    reply = ContactMessage(thread_pk=thread.id, case_pk=case.id, victim_pk=victim.id,
                           author="agency", author_name=name, body=body, event_pk=event_pk,
                           created_at=at)
    session.add(reply)
    session.flush()
    _answer(session, case, victim, thread, reply, utcnow())
    return reply


def _message_reply(session: Session, request: Any, event_type: str,
                   data: dict[str, Any]) -> None:
    """The police completed a message request with an explanation: that is their reply."""
    if event_type != "request.completed" or not data.get("explanation"):
        return
    message = repository.message_by_request_id(session, request.case_pk, request.request_id)
    case = repository.get_case(session, request.case_pk)
    victim = repository.get_victim(session, message.victim_pk) if message else None
    if case is None or victim is None:
        return
    agency = outbound_repository.get_agency(session, request.agency_pk)
    _record_agency_reply(session, case, victim, agency.name if agency else "",
                         data["explanation"], None, request.completed_at or utcnow())


def hand_over(session: Session, case: Case, at: datetime) -> int:
    """After an officer.assigned: open threads follow the current officer in charge (whatever
    order events arrived in), and the victim sees who now has the case. Returns how many
    threads moved."""
    session.flush()  # the new assignment
    officer = current_officer(session, case.id)
    if officer is None:
        return 0
    moved = 0
    now = utcnow()
    for thread in repository.threads_of_case(session, case.id):
        if thread.officer_pk == officer.id:
            continue
        thread.officer_pk = officer.id
        moved += 1
        _step(session, case_pk=case.id, victim_pk=thread.victim_pk, thread_pk=thread.id,
              kind="handover", holder=OFFICER, holder_name=_person(officer),
              due_at=thread.due_at if thread.holder == OFFICER else None, at=at)
        if thread.waiting_since is not None and thread.holder == OFFICER:
            queue_staff_email(session, case.id, officer.email, "handover", now)
    return moved


# --- escalations ----------------------------------------------------------------------------------

def _new_escalation(session: Session, case: Case, victim: Victim, *, reason: str,
                    raised_by: str, raised_at: datetime, details: str | None = None,
                    thread_pk: int | None = None) -> Escalation:
    first = rung_of(reason, 0)
    due = first.until.after(raised_at)
    escalation = Escalation(public_id=secrets.token_urlsafe(16), case_pk=case.id,
                            victim_pk=victim.id, thread_pk=thread_pk, reason=reason,
                            urgent=reason in URGENT_REASONS, details=details or None,
                            raised_by=raised_by, raised_at=raised_at, rung=0,
                            holder=first.holder, due_at=due, first_due_at=due, status=OPEN,
                            created_at=utcnow())
    session.add(escalation)
    session.flush()
    _step(session, case_pk=case.id, victim_pk=victim.id, escalation_pk=escalation.id,
          kind="raised", holder=first.holder, due_at=due, at=raised_at,
          holder_name=holder_name(session, case.id, first.holder))
    return escalation


def escalate(session: Session, case: Case, victim: Victim, raised_by: str,
             values: dict[str, str], now: datetime | None = None) -> Escalation:
    """The victim's escalation button. Commits; ContactError for bad input. "I feel unsafe"
    must have been confirmed after the 999 guidance (`confirmed`)."""
    form: EscalationForm = parse_escalation(values)
    if form.errors:
        raise ContactError(form.errors)
    if form.reason in URGENT_REASONS and not form.confirmed:
        raise ContactError({"confirmed": "show the 999 guidance first"})
    now = now or utcnow()
    repository.lock_case(session, case.id)
    escalation = _new_escalation(session, case, victim, reason=form.reason,
                                 raised_by=raised_by, raised_at=now, details=form.details)
    police = _police(session, case)
    if police is not None:
        request = outbound.submit(session, case=case, victim=victim, agency=police,
                                  kind="escalation", now=now,
                                  details={"reason": form.reason, "urgent": escalation.urgent,
                                           "details": form.details or None})
        escalation.request_id = request.request_id
    _email_holder(session, case.id, escalation.holder, "escalation", now)
    session.commit()
    return escalation


def _resolve(session: Session, escalation: Escalation, by: str | None, note: str | None,
             now: datetime, resolved_at: datetime | None = None) -> None:
    escalation.status = RESOLVED
    escalation.resolved_at = resolved_at or now
    escalation.resolved_by = by
    escalation.resolution = note
    _step(session, case_pk=escalation.case_pk, victim_pk=escalation.victim_pk,
          escalation_pk=escalation.id, kind="resolved", holder=escalation.holder,
          holder_name=by, at=escalation.resolved_at)


def resolve(session: Session, escalation_pk: int, *, by: str, values: dict[str, str],
            now: datetime | None = None) -> Escalation:
    """Staff resolve an escalation with a note the victim reads. Commits; ContactError for bad
    input or an escalation already resolved."""
    form: ResolutionForm = parse_resolution(values)
    if form.errors:
        raise ContactError(form.errors)
    now = now or utcnow()
    escalation = repository.get_escalation(session, escalation_pk, lock=True)
    if escalation is None:
        raise LookupError("no such escalation")
    if escalation.status != OPEN:
        raise ContactError({"note": "This escalation is already resolved"})
    _resolve(session, escalation, by, form.note, now)
    if escalation.reason == "no_reply" and escalation.thread_pk is not None:
        _note_answers_thread(session, escalation, by, form.note, now)
    notifications.notify_victim(session, escalation.victim_pk, "contact.escalation_resolved",
                                now)
    session.commit()
    return escalation


def _note_answers_thread(session: Session, escalation: Escalation, by: str, note: str,
                         now: datetime) -> None:
    """The Hub's note on an unanswered message is the reply the victim was waiting for."""
    case = repository.lock_case(session, escalation.case_pk)
    victim = repository.get_victim(session, escalation.victim_pk)
    thread = repository.get_thread(session, escalation.case_pk, escalation.victim_pk, lock=True)
    if case is None or victim is None or thread is None:
        return
    reply = ContactMessage(thread_pk=thread.id, case_pk=case.id, victim_pk=victim.id,
                           author="hub", author_name=by, body=note, created_at=now)
    session.add(reply)
    session.flush()
    _answer(session, case, victim, thread, reply, now)


def record_feedback(session: Session, escalation: Escalation, answer: str,
                    now: datetime | None = None) -> Escalation:
    """"Was this resolved?": yes or no, after the resolution (the latest answer counts)."""
    if escalation.status != RESOLVED:
        raise ContactError({"answer": "not resolved yet"})
    if answer not in ("yes", "no"):
        raise ContactError({"answer": "Select yes or no"})
    escalation.feedback, escalation.feedback_at = answer, now or utcnow()
    session.commit()
    return escalation


def _escalation_reply(session: Session, request: Any, event_type: str,
                      data: dict[str, Any]) -> None:
    """The police completed an escalation request: their explanation resolves it."""
    if event_type != "request.completed":
        return
    escalation = repository.escalation_by_request_id(session, request.request_id)
    if escalation is None or escalation.status != OPEN:
        return
    agency = outbound_repository.get_agency(session, request.agency_pk)
    _resolve(session, escalation, agency.name if agency else None, data.get("explanation"),
             utcnow(), resolved_at=request.completed_at)


outbound.register_reply_handler("message", _message_reply)
outbound.register_reply_handler("escalation", _escalation_reply)


# --- the ladder job -------------------------------------------------------------------------------

def climb_ladders(session: Session, now: datetime | None = None, limit: int = 200) -> int:
    """Moves every overdue thread and escalation one rung up (one per run; a row more than one
    rung behind moves again on the next run). Commits; returns how many moved. Safe with any
    number of workers: rows are claimed with SKIP LOCKED and moved with a conditional UPDATE."""
    now = now or utcnow()
    moved = 0
    for thread in repository.overdue_threads(session, now, limit):
        moved += _climb_thread(session, thread, now)
    for escalation in repository.overdue_escalations(session, now, limit):
        moved += _climb_escalation(session, escalation, now)
    session.commit()
    return moved


def _climb_thread(session: Session, thread: ContactThread, now: datetime) -> int:
    ladder = LADDERS[REPLY]
    if thread.rung + 1 >= len(ladder) or thread.waiting_since is None:
        return 0  # the last holder (the Hub) has it: its escalation carries the deadline
    passed_at = thread.due_at
    assert passed_at is not None
    nxt = ladder[thread.rung + 1]
    due = nxt.until.after(thread.waiting_since)
    if not repository.move_thread(session, thread.id, thread.rung,
                                  {"rung": thread.rung + 1, "holder": nxt.holder,
                                   "due_at": due, "updated_at": now}):
        return 0
    _step(session, case_pk=thread.case_pk, victim_pk=thread.victim_pk, thread_pk=thread.id,
          kind="moved", holder=nxt.holder, due_at=due, at=passed_at,
          holder_name=holder_name(session, thread.case_pk, nxt.holder))
    if nxt.holder == HUB:
        case = repository.get_case(session, thread.case_pk)
        victim = repository.get_victim(session, thread.victim_pk)
        assert case is not None and victim is not None
        _new_escalation(session, case, victim, reason="no_reply", raised_by="portal",
                        raised_at=passed_at, thread_pk=thread.id)
    else:
        _email_holder(session, thread.case_pk, nxt.holder, "message_overdue", now)
    return 1


def _climb_escalation(session: Session, escalation: Escalation, now: datetime) -> int:
    ladder = LADDERS[escalation.reason]
    if escalation.rung + 1 >= len(ladder):
        return 0  # overdue with its last holder: shown as overdue in the Hub's queue
    passed_at = escalation.due_at
    nxt = ladder[escalation.rung + 1]
    due = nxt.until.after(escalation.raised_at)
    if not repository.move_escalation(session, escalation.id, escalation.rung,
                                      {"rung": escalation.rung + 1, "holder": nxt.holder,
                                       "due_at": due}):
        return 0
    _step(session, case_pk=escalation.case_pk, victim_pk=escalation.victim_pk,
          escalation_pk=escalation.id, kind="moved", holder=nxt.holder, due_at=due,
          at=passed_at, holder_name=holder_name(session, escalation.case_pk, nxt.holder))
    _email_holder(session, escalation.case_pk, nxt.holder, "escalation", now)
    return 1


# --- what the victim and staff read ---------------------------------------------------------------

def due_text(t: Any, due: datetime | None) -> str:
    """A deadline as people say it: a day for working-day deadlines (they end at midnight), a
    day and time for the others."""
    if due is None:
        return ""
    local = due.astimezone(LONDON)
    if local.time() == time.max:
        return t.date(local.date())
    return t.datetime(due)


@dataclass
class ThreadView:
    thread: ContactThread | None
    messages: list[ContactMessage]
    steps: list[ContactStep]
    holder_name: str | None  # who holds it now (None: the Hub, or nobody named yet)
    officer_name: str | None  # the officer in charge now

    @property
    def waiting(self) -> bool:
        return self.thread is not None and self.thread.waiting_since is not None

    @property
    def items(self) -> list[tuple[datetime, str, Any]]:
        """Messages and steps in time order, for one list on the page."""
        found: list[tuple[datetime, str, Any]] = [(m.created_at, "message", m)
                                                  for m in self.messages]
        found += [(s.at, "step", s) for s in self.steps]
        return sorted(found, key=lambda item: (item[0], item[1] == "message"))


def thread_view(session: Session, case: Case, victim: Victim) -> ThreadView:
    thread = repository.get_thread(session, case.id, victim.id)
    officer = _person(current_officer(session, case.id))
    if thread is None:
        return ThreadView(None, [], [], officer, officer)
    holder = holder_name(session, case.id, thread.holder) if thread.waiting_since else officer
    return ThreadView(thread, list(repository.messages_of(session, thread.id)),
                      list(repository.steps_of_thread(session, thread.id)), holder, officer)


@dataclass
class EscalationView:
    escalation: Escalation
    steps: list[ContactStep]
    holder_name: str | None


def escalation_view(session: Session, escalation: Escalation) -> EscalationView:
    return EscalationView(escalation, list(repository.steps_of_escalation(session, escalation.id)),
                          holder_name(session, escalation.case_pk, escalation.holder))


@dataclass(frozen=True)
class PanelThread:
    """The thread as the case page's panel shows it (no messages or steps)."""

    holder: str | None
    due_at: datetime | None
    waiting: bool
    holder_name: str | None
    officer_name: str | None


@dataclass(frozen=True)
class PanelEscalation:
    public_id: str
    reason: str
    holder: str
    due_at: datetime
    holder_name: str | None


@dataclass(frozen=True)
class LatestMessage:
    author: str
    created_at: datetime


@dataclass
class CasePanel:
    """The "Contact" panel of the victim's case page: the thread, the latest message, open
    escalations and resolved ones still waiting for the victim's "was it resolved?"."""

    thread: PanelThread
    latest: LatestMessage | None
    open: list[PanelEscalation]
    to_answer: list[PanelEscalation]


def case_panel(session: Session, case_pk: int, victim_pk: int,
               officer_names: dict[str, str | None]) -> CasePanel:
    """What the panel shows, in one statement. `officer_names`: the name of the case's current
    officer by role ("oic", "supervisor"), as the page already loaded them; the same names
    `holder_name` would read."""
    rows = repository.panel_rows(session, case_pk, victim_pk)
    first = rows[0]
    officer = officer_names.get("oic")
    holder = _panel_holder_name(officer_names, first.holder) if first.waiting_since else officer
    thread = PanelThread(first.holder, first.due_at, first.waiting_since is not None, holder,
                         officer)
    latest = LatestMessage(first.latest_author, first.latest_at) \
        if first.latest_author is not None else None
    panel = CasePanel(thread, latest, [], [])
    for row in rows:
        if row.escalation_pk is None:
            continue
        item = PanelEscalation(row.public_id, row.reason, row.escalation_holder,
                               row.escalation_due_at,
                               _panel_holder_name(officer_names, row.escalation_holder))
        if row.status == OPEN:
            panel.open.append(item)
        elif row.status == RESOLVED and row.feedback is None:
            panel.to_answer.append(item)
    return panel


def _panel_holder_name(officer_names: dict[str, str | None], holder: str | None) -> str | None:
    role = {OFFICER: "oic", SUPERVISOR: "supervisor"}.get(holder or "")
    return officer_names.get(role) if role else None


def find_escalation(session: Session, case: Case, victim: Victim,
                    public_id: str) -> Escalation | None:
    return repository.escalation_by_public_id(session, case.id, victim.id, public_id)


def escalations_of_case(session: Session, case_pk: int) -> Sequence[Escalation]:
    return repository.escalations_of_case(session, case_pk)


def threads_of_case(session: Session, case: Case) -> list[tuple[Victim, ThreadView]]:
    """Every victim's thread on a case (for the staff console)."""
    return [(victim, thread_view(session, case, victim))
            for victim in repository.victims_of_case(session, case.id)]
