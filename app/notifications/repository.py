"""All queries on notification rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, delete, exists, select, tuple_, update
from sqlalchemy.orm import Session, selectinload

from app.cases.models import Representative, Victim
from app.core.db import upsert_ignore
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
    UpdateReminder,
)
from app.obligations.models import Obligation


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


def digestible_to(session: Session, addresses: set[tuple[str, str]], now: datetime,
                  excluding: list[int], per_address: int) -> Sequence[Notification]:
    """Ordinary rows due to these addresses besides `excluding`, locked, to fold into digests."""
    if not addresses:
        return []
    return session.scalars(
        select(Notification)
        .where(Notification.status == CREATED,
               tuple_(Notification.channel, Notification.to).in_(sorted(addresses)),
               Notification.id.not_in(excluding), Notification.safety_critical.is_(False),
               Notification.digest_pk.is_(None), Notification.next_attempt_at <= now)
        .order_by(Notification.id).limit(per_address * len(addresses))
        .with_for_update(skip_locked=True)
    ).all()


def recent_sends_to(session: Session, addresses: set[tuple[str, str]], since: datetime
                    ) -> dict[tuple[str, str], list[tuple[int, datetime, str | None]]]:
    """(row id, sent_at, body_hash) of what went to each address since `since`, oldest first."""
    if not addresses:
        return {}
    found: dict[tuple[str, str], list[tuple[int, datetime, str | None]]] = {}
    for pk, channel, to, sent_at, body_hash in session.execute(
        select(Notification.id, Notification.channel, Notification.to, Notification.sent_at,
               Notification.body_hash)
        .where(tuple_(Notification.channel, Notification.to).in_(sorted(addresses)),
               Notification.sent_at >= since)
        .order_by(Notification.sent_at)
    ):
        found.setdefault((channel, to), []).append((pk, sent_at, body_hash))
    return found


def record_handed_over(session: Session, handed: list[tuple[int, int, int, str]], worker: str,
                       now: datetime) -> set[int]:
    """Tries a provider accepted, on rows this worker still holds as it left them:
    (notification id, attempt id, attempt number, provider ref) each. Two statements for all;
    returns the notification ids recorded (the others are left untouched)."""
    refs = {pk: ref for pk, _attempt, _number, ref in handed}
    recorded = {pk for (pk,) in session.execute(
        update(Notification)
        .where(tuple_(Notification.id, Notification.attempts).in_(
                   [(pk, number) for pk, _attempt, number, _ref in handed]),
               Notification.claimed_by == worker, Notification.status == SENDING)
        .values(provider_ref=case(refs, value=Notification.id), claimed_until=None,
                claimed_by=None, status_at=now)
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    )}
    attempts = {attempt: refs[pk] for pk, attempt, _number, _ref in handed if pk in recorded}
    if attempts:
        session.execute(
            update(NotificationAttempt).where(NotificationAttempt.id.in_(list(attempts)))
            .values(finished_at=now, outcome="accepted",
                    provider_ref=case(attempts, value=NotificationAttempt.id))
            .execution_options(synchronize_session=False)
        )
    return recorded


def renew_leases(session: Session, items: list[tuple[int, int]], worker: str,
                 until: datetime) -> set[int]:
    """Extends our leases on rows we still hold ((id, attempt number) pairs); returns the ids
    still ours (the sweep may have taken some back)."""
    if not items:
        return set()
    rows = session.execute(
        update(Notification)
        .where(tuple_(Notification.id, Notification.attempts).in_(items),
               Notification.claimed_by == worker, Notification.status == SENDING)
        .values(claimed_until=until)
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    ).all()
    return {pk for (pk,) in rows}


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


def _same_message(row: Notification) -> Any:
    """Rows carrying the same message as `row`: the same event's, or (for a message no event
    caused, such as an update reminder) the copies made of this very row."""
    if row.event_pk is None:
        return Notification.fallback_of_pk == row.id
    return (Notification.event_pk == row.event_pk) & (Notification.template == row.template)


def has_copy(session: Session, row: Notification, channel: str) -> bool:
    """Whether this victim already has this event's message on that channel."""
    return session.scalar(
        select(Notification.id)
        .where(Notification.victim_pk == row.victim_pk, _same_message(row),
               Notification.recipient == row.recipient, Notification.channel == channel)
        .limit(1)
    ) is not None


def live_copy_exists(session: Session, row: Notification) -> bool:
    """Whether another message about the same event to the victim is delivered or on its way."""
    failed = (TEMPORARY_FAILURE, PERMANENT_FAILURE, TECHNICAL_FAILURE)
    return session.scalar(
        select(Notification.id)
        .where(Notification.victim_pk == row.victim_pk, _same_message(row),
               Notification.id != row.id, Notification.status.not_in(failed)).limit(1)
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


@dataclass(frozen=True)
class RepresentativeContact:
    """A representative's channels (as read from Representative)."""

    email: str | None
    mobile: str | None


@dataclass(frozen=True)
class Recipient:
    """The columns of a Victim that queueing a message reads, under the same names."""

    id: int
    case_pk: int
    victim_ref: str
    email: str | None
    mobile: str | None
    preferred_language: str
    sms_allowed: bool
    email_allowed: bool
    discreet: bool
    quiet_from: str | None
    quiet_to: str | None
    representative: RepresentativeContact | None


@dataclass(frozen=True)
class StoredPreference:
    """The columns of a NotificationPreference that `effective_preferences` reads."""

    sms: bool | None
    email: bool | None
    language: str | None
    quiet_from: str | None
    quiet_to: str | None
    discreet: bool | None
    update_interval_days: int | None


# On every agency event (`service.on_event`): a case's victims, each with their representative,
# their own preferences and whether their or the representative's mobile opted out, in one
# round trip. Built once: building a statement costs more than running it. Plain columns, and
# only those queueing reads: loading three ORM objects per victim cost more than the rest.
_VICTIM_FIELDS = tuple(f.name for f in fields(Recipient) if f.name != "representative")
_PREFERENCE_FIELDS = tuple(f.name for f in fields(StoredPreference))
_victim, _rep, _pref = Victim.__table__, Representative.__table__, NotificationPreference.__table__
_opt_out = SmsOptOut.__table__
_RECIPIENTS = (
    select(*(_victim.c[name] for name in _VICTIM_FIELDS),
           *(_pref.c[name].label(f"pref_{name}") for name in _PREFERENCE_FIELDS),
           _pref.c.id.label("pref_pk"), _rep.c.id.label("rep_pk"),
           _rep.c.email.label("rep_email"), _rep.c.mobile.label("rep_mobile"),
           exists().where(_opt_out.c.number == _victim.c.mobile).label("victim_blocked"),
           exists().where(_opt_out.c.number == _rep.c.mobile).label("rep_blocked"))
    .outerjoin(_rep, _rep.c.victim_pk == _victim.c.id)
    .outerjoin(_pref, _pref.c.victim_pk == _victim.c.id)
    .where(_victim.c.case_pk == bindparam("case_pk"))
    .order_by(_victim.c.id)
)
_PREFERENCES_FROM = len(_VICTIM_FIELDS)
_PREFERENCES_TO = _PREFERENCES_FROM + len(_PREFERENCE_FIELDS)


def recipients_of_case(session: Session, case_pk: int
                       ) -> tuple[list[Recipient], dict[int, StoredPreference], set[str]]:
    """The case's victims (with their representative), their preferences by victim pk, and
    which of their and their representatives' mobile numbers opted out."""
    victims, prefs, blocked = [], {}, set()
    for row in session.connection().execute(_RECIPIENTS, {"case_pk": case_pk}):
        rep = None if row.rep_pk is None else RepresentativeContact(row.rep_email, row.rep_mobile)
        victims.append(Recipient(*row[:_PREFERENCES_FROM], representative=rep))
        if row.pref_pk is not None:
            prefs[row.id] = StoredPreference(*row[_PREFERENCES_FROM:_PREFERENCES_TO])
        if row.victim_blocked:
            blocked.add(row.mobile)
        if row.rep_blocked:
            blocked.add(row.rep_mobile)
    return victims, prefs, blocked


def quiet_hours_of(session: Session, victim_pks: Iterable[int]
                   ) -> dict[int, tuple[Victim, NotificationPreference | None]]:
    """Each victim with their own preferences (for the quiet hours that apply at claim time)."""
    pks = list(victim_pks)
    if not pks:
        return {}
    rows = session.execute(
        select(Victim, NotificationPreference)
        .outerjoin(NotificationPreference, NotificationPreference.victim_pk == Victim.id)
        .where(Victim.id.in_(pks)))
    return {victim.id: (victim, pref) for victim, pref in rows}


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


# --- "no news is not forgotten" reminders -------------------------------------------------------

def overdue_regular_updates(session: Session, rule_id: str, now: datetime,
                            limit: int) -> Sequence[Any]:
    """The obligations engine's regular-update rows (read only) whose due time has passed with
    no update, and whose latest reminder, if any, is no longer current:
    (id, case_pk, victim_pk, due_at) rows, longest overdue first."""
    current = select(UpdateReminder.id).where(UpdateReminder.obligation_pk == Obligation.id,
                                              UpdateReminder.next_at > now).exists()
    return session.execute(
        select(Obligation.id, Obligation.case_pk, Obligation.victim_pk, Obligation.due_at)
        .where(Obligation.rule_id == rule_id, Obligation.status.in_(("open", "breached")),
               Obligation.met_at.is_(None), Obligation.victim_pk.is_not(None),
               Obligation.due_at.is_not(None), Obligation.due_at <= now, ~current)
        .order_by(Obligation.due_at, Obligation.id).limit(limit)
    ).all()


def add_reminder(session: Session, values: dict[str, Any]) -> bool:
    """Records a reminder; False if another worker recorded the same one first (unique key:
    obligation and number). On PostgreSQL a concurrent insert waits for the other's commit."""
    return upsert_ignore(session, UpdateReminder, values, ["obligation_pk", "number"]) is not None


def reminders_of(session: Session, victim_pk: int) -> Sequence[UpdateReminder]:
    return session.scalars(
        select(UpdateReminder).where(UpdateReminder.victim_pk == victim_pk)
        .order_by(UpdateReminder.obligation_pk, UpdateReminder.number)
    ).all()
