"""All queries on notification rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, selectinload

from app.cases.models import Representative, Victim
from app.notifications.models import (
    CREATED,
    FINAL_STATUSES,
    PERMANENT_FAILURE,
    SENDING,
    TECHNICAL_FAILURE,
    TEMPORARY_FAILURE,
    ContactTask,
    DevOutboxMessage,
    Notification,
    NotificationAttempt,
    NotificationPreference,
    SafetyAlert,
    SmsOptOut,
)


def outbox_messages(session: Session, to: str | None = None,
                    limit: int | None = None) -> Sequence[DevOutboxMessage]:
    """Captured messages, newest first, optionally only those to one address."""
    query = select(DevOutboxMessage)
    if to is not None:
        query = query.where(DevOutboxMessage.recipient == to)
    query = query.order_by(DevOutboxMessage.created_at.desc(), DevOutboxMessage.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


# --- the outbox (issue 5) -------------------------------------------------------------------

def claim_due(session: Session, now: datetime, limit: int) -> Sequence[Notification]:
    """Rows due for a try, locked for this transaction; rows other workers hold are skipped."""
    return session.scalars(
        select(Notification)
        .where(Notification.status == CREATED, Notification.next_attempt_at <= now,
               Notification.digest_pk.is_(None))
        .order_by(Notification.safety_critical.desc(), Notification.next_attempt_at,
                  Notification.id)
        .limit(limit).with_for_update(skip_locked=True)
    ).all()


def digestible(session: Session, carrier: Notification, now: datetime) -> Sequence[Notification]:
    """Other ordinary rows due to the same address, to fold into one digest."""
    return session.scalars(
        select(Notification)
        .where(Notification.status == CREATED, Notification.channel == carrier.channel,
               Notification.to == carrier.to, Notification.id != carrier.id,
               Notification.safety_critical.is_(False), Notification.digest_pk.is_(None),
               Notification.next_attempt_at <= now)
        .order_by(Notification.id).limit(50).with_for_update(skip_locked=True)
    ).all()


def recent_sends(session: Session, channel: str, to: str, since: datetime,
                 excluding: int) -> Sequence[tuple[datetime, str | None]]:
    """(sent_at, body_hash) of what went to this address since `since`, oldest first."""
    rows = session.execute(
        select(Notification.sent_at, Notification.body_hash)
        .where(Notification.channel == channel, Notification.to == to,
               Notification.sent_at >= since, Notification.id != excluding)
        .order_by(Notification.sent_at)
    ).all()
    return [(sent_at, body_hash) for sent_at, body_hash in rows]


def lock_notification(session: Session, pk: int) -> Notification | None:
    return session.scalars(
        select(Notification).where(Notification.id == pk).with_for_update()
    ).one_or_none()


def digest_members(session: Session, carrier_pk: int) -> Sequence[Notification]:
    return session.scalars(
        select(Notification).where(Notification.digest_pk == carrier_pk)
        .order_by(Notification.id).with_for_update()
    ).all()


def get_attempt(session: Session, pk: int) -> NotificationAttempt | None:
    return session.get(NotificationAttempt, pk)


def open_attempt(session: Session, notification_pk: int, number: int
                 ) -> NotificationAttempt | None:
    return session.scalars(
        select(NotificationAttempt).where(NotificationAttempt.notification_pk == notification_pk,
                                          NotificationAttempt.number == number,
                                          NotificationAttempt.finished_at.is_(None))
    ).one_or_none()


def attempts_of(session: Session, notification_pk: int) -> Sequence[NotificationAttempt]:
    return session.scalars(
        select(NotificationAttempt).where(NotificationAttempt.notification_pk == notification_pk)
        .order_by(NotificationAttempt.number)
    ).all()


def renew_lease(session: Session, pk: int, worker: str, attempt_number: int,
                until: datetime) -> bool:
    """Extends our lease on a row we still hold; False if the sweep has taken it back."""
    result = session.execute(
        update(Notification)
        .where(Notification.id == pk, Notification.claimed_by == worker,
               Notification.attempts == attempt_number, Notification.status == SENDING)
        .values(claimed_until=until)
    )
    return result.rowcount == 1


def expired_claims(session: Session, now: datetime, limit: int) -> Sequence[Notification]:
    return session.scalars(
        select(Notification)
        .where(Notification.status == SENDING, Notification.claimed_until < now)
        .order_by(Notification.claimed_until).limit(limit).with_for_update(skip_locked=True)
    ).all()


def silent_since(session: Session, before: datetime, limit: int) -> Sequence[Notification]:
    """Handed to a provider before `before` and never reported on."""
    return session.scalars(
        select(Notification)
        .where(Notification.status == SENDING, Notification.claimed_until.is_(None),
               Notification.digest_pk.is_(None), Notification.sent_at < before)
        .limit(limit).with_for_update(skip_locked=True)
    ).all()


def pending_sms_to(session: Session, number: str) -> Sequence[Notification]:
    return session.scalars(
        select(Notification)
        .where(Notification.channel == "sms", Notification.to == number,
               Notification.status == CREATED, Notification.digest_pk.is_(None))
        .with_for_update()
    ).all()


def has_copy(session: Session, row: Notification, channel: str) -> bool:
    """Whether this victim already has this event's message on that channel."""
    return session.scalar(
        select(Notification.id)
        .where(Notification.victim_pk == row.victim_pk, Notification.event_pk == row.event_pk,
               Notification.template == row.template, Notification.recipient == row.recipient,
               Notification.channel == channel).limit(1)
    ) is not None


def live_copy_exists(session: Session, row: Notification) -> bool:
    """Whether another message about the same event to the victim is delivered or on its way."""
    failed = (TEMPORARY_FAILURE, PERMANENT_FAILURE, TECHNICAL_FAILURE)
    return session.scalar(
        select(Notification.id)
        .where(Notification.victim_pk == row.victim_pk, Notification.event_pk == row.event_pk,
               Notification.template == row.template, Notification.id != row.id,
               Notification.status.not_in(failed)).limit(1)
    ) is not None


def notifications_of_victim(session: Session, victim_pk: int,
                            limit: int = 100) -> Sequence[Notification]:
    return session.scalars(
        select(Notification).where(Notification.victim_pk == victim_pk)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    ).all()


def is_final(status: str) -> bool:
    return status in FINAL_STATUSES


# --- people and their choices -----------------------------------------------------------------

def get_victim(session: Session, victim_pk: int) -> Victim | None:
    return session.scalars(
        select(Victim).where(Victim.id == victim_pk)
        .options(selectinload(Victim.representative))
    ).one_or_none()


def preferences_of(session: Session, victim_pks: Iterable[int]
                   ) -> dict[int, NotificationPreference]:
    pks = list(victim_pks)
    if not pks:
        return {}
    rows = session.scalars(
        select(NotificationPreference).where(NotificationPreference.victim_pk.in_(pks))
    ).all()
    return {row.victim_pk: row for row in rows}


def get_preference(session: Session, victim_pk: int) -> NotificationPreference | None:
    return session.scalars(
        select(NotificationPreference).where(NotificationPreference.victim_pk == victim_pk)
    ).one_or_none()


def opted_out(session: Session, numbers: Iterable[str | None]) -> set[str]:
    wanted = {n for n in numbers if n}
    if not wanted:
        return set()
    return set(session.scalars(select(SmsOptOut.number).where(SmsOptOut.number.in_(wanted))))


def get_opt_out(session: Session, number: str) -> SmsOptOut | None:
    return session.scalars(select(SmsOptOut).where(SmsOptOut.number == number)).one_or_none()


def remove_opt_out(session: Session, number: str) -> None:
    session.execute(delete(SmsOptOut).where(SmsOptOut.number == number))


def victim_pks_reached_at(session: Session, number: str) -> list[int]:
    """Victims whose own mobile, or whose representative's, is this number."""
    own = session.scalars(select(Victim.id).where(Victim.mobile == number)).all()
    through = session.scalars(
        select(Representative.victim_pk).where(Representative.mobile == number)).all()
    return sorted(set(own) | set(through))


def victims_by_pk(session: Session, pks: Iterable[int]) -> Sequence[Victim]:
    return session.scalars(select(Victim).where(Victim.id.in_(list(pks)))).all()


# --- safety alerts and contact tasks ----------------------------------------------------------

def alert_by_token(session: Session, token: str) -> SafetyAlert | None:
    return session.scalars(
        select(SafetyAlert).where(SafetyAlert.token == token).with_for_update()
    ).one_or_none()


def latest_open_alert(session: Session, victim_pks: list[int]) -> SafetyAlert | None:
    if not victim_pks:
        return None
    return session.scalars(
        select(SafetyAlert)
        .where(SafetyAlert.victim_pk.in_(victim_pks), SafetyAlert.acknowledged_at.is_(None))
        .order_by(SafetyAlert.created_at.desc(), SafetyAlert.id.desc()).limit(1)
        .with_for_update()
    ).one_or_none()


def overdue_alerts(session: Session, now: datetime, limit: int) -> Sequence[SafetyAlert]:
    return session.scalars(
        select(SafetyAlert)
        .where(SafetyAlert.acknowledged_at.is_(None), SafetyAlert.escalated_at.is_(None),
               SafetyAlert.due_at <= now)
        .order_by(SafetyAlert.due_at).limit(limit).with_for_update(skip_locked=True)
    ).all()


def open_task(session: Session, victim_pk: int, reason: str | None = None,
              event_pk: int | None = None) -> ContactTask | None:
    query = select(ContactTask).where(ContactTask.victim_pk == victim_pk,
                                      ContactTask.resolved_at.is_(None))
    if reason is not None:
        query = query.where(ContactTask.reason == reason)
    if event_pk is not None:
        query = query.where(ContactTask.event_pk == event_pk)
    return session.scalars(query.limit(1)).first()


def open_tasks(session: Session) -> Sequence[ContactTask]:
    return session.scalars(
        select(ContactTask).where(ContactTask.resolved_at.is_(None))
        .order_by(ContactTask.due_at, ContactTask.id)
    ).all()
