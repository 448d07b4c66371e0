"""The Hub's work queues, each sorted by deadline (earliest first): escalations from victims,
safety alerts nobody acknowledged, victims no notification could reach (contact tasks), and
outbound webhooks to agencies that ran out of retries.

Escalations (app/contact) and outbound deliveries (app/outbound) are read through those
domains' repositories; safety alerts and contact tasks (app/notifications) through ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from app.core.i18n import N_
from app.staff import repository

ESCALATION_REASONS = {
    "cant_reach_officer": N_("Cannot reach the officer"),
    "something_wrong": N_("Something is wrong with the case"),
    "unsafe": N_("The victim feels unsafe"),
    "no_reply": N_("A message was not answered in time"),
}
# app/notifications' contact task reasons
CONTACT_REASONS = {
    "no-channel": N_("No way to send the victim messages"),
    "undeliverable": N_("No message could reach the victim"),
    "safety-ack-overdue": N_("Safety alert not acknowledged"),
    "update-overdue": N_("Regular update overdue"),
    "sms-opt-out": N_("The victim replied STOP"),
}


@dataclass(frozen=True)
class QueueItem:
    case_pk: int | None
    crime_reference: str | None
    deadline: datetime | None
    since: datetime | None
    label: str
    link: str | None = None
    urgent: bool = False
    translate: bool = True  # label is a gettext key


@dataclass
class Queue:
    key: str
    title: str
    items: list[QueueItem] = field(default_factory=list)


@dataclass
class Queues:
    queues: list[Queue]

    @property
    def total(self) -> int:
        return sum(len(q.items) for q in self.queues)


def _by_deadline(items: list[QueueItem]) -> list[QueueItem]:
    known = [i for i in items if i.deadline is not None]
    return sorted(known, key=lambda i: i.deadline) + [i for i in items if i.deadline is None]


def escalations(session: Session) -> Queue:
    from app.contact import repository as contact_repository

    queue = Queue("escalations", N_("Escalations"))
    for row in contact_repository.open_escalations(session):
        label = ESCALATION_REASONS.get(row.reason, row.reason)
        queue.items.append(QueueItem(row.case_pk, row.crime_reference, row.due_at,
                                     row.raised_at, label, f"/staff/escalations/{row.id}",
                                     urgent=row.urgent))
    return queue


def safety_alerts(session: Session) -> Queue:
    queue = Queue("safety-alerts", N_("Unacknowledged safety alerts"))
    for row in repository.unacknowledged_safety_alerts(session):
        label = N_("Call the victim now") if row.escalated_at else N_("Waiting for the victim")
        queue.items.append(QueueItem(row.case_pk, row.crime_reference, row.due_at,
                                     row.created_at, label, f"/staff/cases/{row.case_pk}"))
    return queue


def contact_tasks(session: Session) -> Queue:
    queue = Queue("undeliverable", N_("Victims we could not reach"))
    for row in repository.open_contact_tasks(session):
        label = CONTACT_REASONS.get(row.reason, row.reason)
        queue.items.append(QueueItem(row.case_pk, row.crime_reference, row.due_at,
                                     row.created_at, label, f"/staff/cases/{row.case_pk}"))
    return queue


def exhausted_webhooks(session: Session) -> Queue:
    """Deliveries that gave up, the longest stuck first (they have no deadline of their own:
    the victim's request waits until someone acts)."""
    from app.outbound import repository as outbound_repository
    from app.outbound.models import TASK_EXHAUSTED

    queue = Queue("exhausted-webhooks", N_("Requests agencies did not receive"))
    for stuck in outbound_repository.exhausted_deliveries(session, limit=200):
        since = stuck.webhook.finished_at or stuck.webhook.created_at
        reason = stuck.task.reason if stuck.task else stuck.webhook.status
        queue.items.append(QueueItem(
            stuck.case.id, stuck.case.crime_reference, since, since,
            f"{stuck.request.kind} to {stuck.agency.name}: {reason}",
            "/staff/agencies" if reason != TASK_EXHAUSTED else f"/staff/cases/{stuck.case.id}",
            translate=False))
    queue.items = _by_deadline(queue.items)
    return queue


def queues(session: Session) -> Queues:
    return Queues([escalations(session), safety_alerts(session), contact_tasks(session),
                   exhausted_webhooks(session)])
