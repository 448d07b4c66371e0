"""Business rules of SMS and email pushes.

Queueing: `on_event` runs inside the transaction of the agency event, so the notification rows
exist if and only if the event does (a transactional outbox).

Delivery (`Deliverer`, run by app.core.worker): a worker claims due rows with
FOR UPDATE SKIP LOCKED and a lease (`claimed_until`), commits, calls the provider outside any
transaction, then records the outcome in a new transaction. One attempt row per try. A worker
that dies mid-send leaves its rows in `sending` with an expired lease: `sweep` puts them back,
so nothing is lost; only a message in flight at the crash can go out twice.

Statuses follow GOV.UK Notify and never move backwards: final statuses are final, receipts
arriving out of order are ignored.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy.orm import Session, sessionmaker

from app.agencies import catalogue
from app.cases.models import Victim
from app.core.config import Settings
from app.core.db import utcnow
from app.core.i18n import LANGUAGES, N_, normalise_language
from app.core.worker import notify_workers
from app.notifications import providers as p
from app.notifications import repository, rules, templates
from app.notifications.models import (
    CREATED,
    DELIVERED,
    FINAL_STATUSES,
    PERMANENT_FAILURE,
    SENDING,
    TECHNICAL_FAILURE,
    ContactTask,
    Notification,
    NotificationAttempt,
    NotificationPreference,
    SafetyAlert,
    SmsOptOut,
)
from app.obligations import service as obligations
from app.obligations.rules import REGULAR_UPDATE_DAYS

log = logging.getLogger("tmc.notifications")

NOTIFICATIONS = Counter("tmc_notifications_total", "Notifications reaching a status",
                        ["channel", "status"])

WAKE_TOPIC = "notifications"  # wakes only the deliverer of this domain (app.core.worker)
URGENT_TYPES = frozenset({"offender.escaped"})  # ignores quiet hours
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
ACK_WORDS = frozenset({"OK", "OKAY", "YES OK"})
UPDATE_INTERVALS = (7, 14, 28, 56)
DEFAULT_UPDATE_INTERVAL = REGULAR_UPDATE_DAYS  # the Code's rule, unless the victim chose


# --- preferences ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Preferences:
    """What applies to one victim: their own choices over what the police sent."""

    sms: bool
    email: bool
    language: str
    quiet_from: str | None
    quiet_to: str | None
    discreet: bool
    update_interval_days: int


def _pick(mine: Any, police: Any) -> Any:
    return police if mine is None else mine


def effective_preferences(victim: Victim | repository.Recipient,
                          pref: NotificationPreference | repository.StoredPreference | None
                          ) -> Preferences:
    if pref is None:
        return Preferences(victim.sms_allowed, victim.email_allowed,
                           normalise_language(victim.preferred_language), victim.quiet_from,
                           victim.quiet_to, victim.discreet, DEFAULT_UPDATE_INTERVAL)
    quiet_set = pref.quiet_from is not None or pref.quiet_to is not None
    return Preferences(
        sms=_pick(pref.sms, victim.sms_allowed), email=_pick(pref.email, victim.email_allowed),
        language=normalise_language(_pick(pref.language, victim.preferred_language)),
        quiet_from=pref.quiet_from if quiet_set else victim.quiet_from,
        quiet_to=pref.quiet_to if quiet_set else victim.quiet_to,
        # Discreet mode can be asked for, and only the victim can turn it off.
        discreet=_pick(pref.discreet, victim.discreet),
        update_interval_days=pref.update_interval_days or DEFAULT_UPDATE_INTERVAL)


def preferences_of(session: Session, victim_pk: int) -> Preferences:
    victim = repository.get_victim(session, victim_pk)
    if victim is None:
        raise LookupError("no such victim")
    return effective_preferences(victim, repository.get_preference(session, victim_pk))


class PreferenceError(ValueError):
    """Bad input on the preferences page: field -> message (an English source string, shown
    translated)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


LANGUAGE_ERROR = N_("Choose English or Cymraeg")
QUIET_BOTH_ERROR = N_("Enter both times for quiet hours, or leave both empty")
QUIET_FORMAT_ERROR = N_("Enter quiet hours as times on the 24-hour clock, like 21:00 and 08:00")
QUIET_SAME_ERROR = N_("Quiet hours must start and end at different times")
INTERVAL_ERROR = N_("Choose how often we should update you when nothing has happened")
DISCREET_ERROR = N_("Only the victim can turn off discreet messages")


def normalise_hhmm(value: str) -> str | None:
    """"21:00", "9:30" or "21.00" as "HH:MM"; None if it is no time of day."""
    parts = value.strip().replace(".", ":").split(":")
    if len(parts) != 2 or not all(x.isdigit() for x in parts) or len(parts[1]) != 2 \
            or not 1 <= len(parts[0]) <= 2:
        return None
    hours, minutes = int(parts[0]), int(parts[1])
    return f"{hours:02d}:{minutes:02d}" if hours < 24 and minutes < 60 else None


def _quiet_hours(quiet_from: str | None, quiet_to: str | None,
                 errors: dict[str, str]) -> tuple[str | None, str | None]:
    if not quiet_from and not quiet_to:
        return None, None
    if not quiet_from or not quiet_to:
        errors["quiet_hours"] = QUIET_BOTH_ERROR
        return None, None
    start, end = normalise_hhmm(quiet_from), normalise_hhmm(quiet_to)
    if start is None or end is None:
        errors["quiet_hours"] = QUIET_FORMAT_ERROR
    elif start == end:
        errors["quiet_hours"] = QUIET_SAME_ERROR
    return start, end


def save_preferences(session: Session, victim_pk: int, *, sms: bool, email: bool,
                     language: str, quiet_from: str | None, quiet_to: str | None,
                     discreet: bool, update_interval_days: int,
                     by: str = "victim") -> Preferences:
    """Validates and stores the choices made by the victim or their representative (`by`);
    commits. Bad input changes nothing and raises PreferenceError."""
    errors: dict[str, str] = {}
    if language not in LANGUAGES:
        errors["language"] = LANGUAGE_ERROR
    quiet_from, quiet_to = _quiet_hours(quiet_from, quiet_to, errors)
    if update_interval_days not in UPDATE_INTERVALS:
        errors["update_interval_days"] = INTERVAL_ERROR
    if by != "victim" and not discreet and preferences_of(session, victim_pk).discreet:
        errors["discreet"] = DISCREET_ERROR  # it may be what keeps the victim safe
    if errors:
        raise PreferenceError(errors)
    pref = repository.get_preference(session, victim_pk)
    if pref is None:
        pref = NotificationPreference(victim_pk=victim_pk)
        session.add(pref)
    pref.sms, pref.email, pref.language = sms, email, language
    # An explicit "no quiet hours" is stored as "00:00"-"00:00" so it overrides the police's.
    pref.quiet_from, pref.quiet_to = (quiet_from, quiet_to) if quiet_from else ("00:00", "00:00")
    pref.discreet, pref.update_interval_days = discreet, update_interval_days
    pref.updated_at = utcnow()
    session.flush()
    from app.obligations.service import recompute_for_victim

    recompute_for_victim(session, victim_pk)  # the regular-update interval is the victim's
    session.commit()
    return preferences_of(session, victim_pk)


def preference_form(session: Session, victim_pk: int) -> dict[str, Any]:
    """The preferences page's values for one victim (no contact details: only what is set)."""
    prefs = preferences_of(session, victim_pk)
    quiet = prefs.quiet_from and prefs.quiet_from != prefs.quiet_to
    return {"victim": victim_pk, "sms": prefs.sms, "email": prefs.email,
            "language": prefs.language, "quiet_from": prefs.quiet_from if quiet else "",
            "quiet_to": prefs.quiet_to if quiet else "", "discreet": prefs.discreet,
            "update_interval_days": prefs.update_interval_days}


def submitted_form(victim_pk: int, form: dict[str, str]) -> dict[str, Any]:
    """What was typed, to show back with the errors (GOV.UK: never make people retype)."""
    try:
        interval: int | None = int(form.get("update_interval_days", ""))
    except ValueError:
        interval = None
    return {"victim": victim_pk, "sms": form.get("sms") == "1",
            "email": form.get("email") == "1", "language": form.get("language", ""),
            "quiet_from": form.get("quiet_from", "").strip(),
            "quiet_to": form.get("quiet_to", "").strip(),
            "discreet": form.get("discreet") == "1", "update_interval_days": interval}


def save_preferences_form(session: Session, victim_pk: int, form: dict[str, str],
                          by: str = "victim") -> Preferences:
    values = submitted_form(victim_pk, form)
    return save_preferences(
        session, victim_pk, sms=values["sms"], email=values["email"],
        language=values["language"], quiet_from=values["quiet_from"] or None,
        quiet_to=values["quiet_to"] or None, discreet=values["discreet"],
        update_interval_days=values["update_interval_days"] or -1, by=by)


# --- queueing (inside the event's transaction) -------------------------------------------------

@dataclass(frozen=True)
class Target:
    recipient: str  # victim | representative
    channel: str
    to: str


def _targets(victim: Victim | repository.Recipient, prefs: Preferences, blocked: set[str],
             every: bool) -> list[Target]:
    """Where a message to this victim goes: every allowed channel, or the first one."""
    found: list[Target] = []
    own = []
    if prefs.sms and victim.mobile and victim.mobile not in blocked:
        own.append(Target("victim", "sms", victim.mobile))
    if prefs.email and victim.email:
        own.append(Target("victim", "email", victim.email))
    found += own if every else own[:1]
    rep = victim.representative
    if rep is not None:
        theirs = []
        if rep.mobile and prefs.sms and rep.mobile not in blocked:
            theirs.append(Target("representative", "sms", rep.mobile))
        if rep.email and prefs.email:
            theirs.append(Target("representative", "email", rep.email))
        found += theirs if every else theirs[:1]
    return found


def _concerned_victims(session: Session, applied: Any) -> tuple[
        list[repository.Recipient], dict[int, repository.StoredPreference], set[str]]:
    """The victims the event concerns, their preferences and the opted-out numbers."""
    victims, prefs, blocked = repository.recipients_of_case(session, applied.case.id)
    only = catalogue.victim_ref_of(applied.event.type, applied.data)
    return [v for v in victims if only is None or v.victim_ref == only], prefs, blocked


def on_event(session: Session, applied: Any) -> int:
    """Queues the messages an accepted agency event causes, in the event's transaction.

    `applied` is an app.cases.projection.Applied. Returns how many rows were queued.
    """
    event_type = applied.event.type
    if event_type in templates.NOT_NOTIFIED or catalogue.spec_for(event_type) is None:
        return 0
    session.flush()  # victims and representatives this event created
    victims, stored_prefs, blocked = _concerned_victims(session, applied)
    if not victims:
        return 0
    now = utcnow()
    safety = catalogue.is_safety_critical(event_type, applied.data)
    params = templates.params_for(event_type, applied.data)
    urgent = event_type in URGENT_TYPES
    queued, due_now = 0, False
    for victim in victims:
        prefs = effective_preferences(victim, stored_prefs.get(victim.id))
        count = queue_for_victim(
            session, victim, prefs, blocked, event_pk=applied.event.id, template=event_type,
            params=params, safety=safety, urgent=urgent, now=now)
        queued += count
        due_now = due_now or (count > 0 and _held_until(prefs, urgent, now) is None)
    if due_now:  # held rows wait for the workers' polling; no wake-up needed for them
        notify_workers(session, WAKE_TOPIC)
    return queued


def _held_until(prefs: Preferences, urgent: bool, now: datetime) -> datetime | None:
    """When a message queued now may first go: the end of quiet hours, or None for now."""
    return None if urgent else rules.quiet_until(now, prefs.quiet_from, prefs.quiet_to)


def queue_for_victim(session: Session, victim: Victim | repository.Recipient, prefs: Preferences,
                     blocked: set[str],
                     *, event_pk: int | None, template: str, params: dict[str, Any],
                     safety: bool, urgent: bool, now: datetime) -> int:
    targets = _targets(victim, prefs, blocked, every=safety)
    start = _held_until(prefs, urgent, now) or now
    params = dict(params)
    if safety and event_pk is not None:
        token = secrets.token_urlsafe(24)
        params["ack"] = token
        session.add(SafetyAlert(case_pk=victim.case_pk, victim_pk=victim.id, event_pk=event_pk,
                                token=token, created_at=now,
                                due_at=start + rules.SAFETY_ACK_WITHIN))
        if not targets:
            raise_contact_task(session, victim.case_pk, victim.id, "no-channel", now,
                               event_pk=event_pk)
    for target in targets:
        session.add(Notification(
            case_pk=victim.case_pk, victim_pk=victim.id, event_pk=event_pk,
            recipient=target.recipient, channel=target.channel, to=target.to,
            template=template, language=prefs.language, discreet=prefs.discreet,
            safety_critical=safety, urgent=urgent, params=params, status=CREATED,
            next_attempt_at=start, created_at=now))
    return len(targets)


def notify_victim(session: Session, victim_pk: int, template: str, now: datetime) -> int:
    """Queues a message with no event behind it (nothing urgent, no parameters) to the victim
    and wakes the deliverers after commit; how many rows were queued (0: no such victim)."""
    victim = repository.get_victim(session, victim_pk)
    if victim is None:
        return 0
    prefs = effective_preferences(victim, repository.get_preference(session, victim_pk))
    queued = _queue_notice(session, victim, prefs, template, now)
    if queued:
        notify_workers(session, WAKE_TOPIC)
    return queued


def _queue_notice(session: Session, victim: Victim, prefs: Preferences, template: str,
                  now: datetime) -> int:
    rep = victim.representative
    blocked = repository.opted_out(session, [victim.mobile, rep.mobile if rep else None])
    return queue_for_victim(session, victim, prefs, blocked, event_pk=None, template=template,
                            params={}, safety=False, urgent=False, now=now)


def raise_contact_task(session: Session, case_pk: int, victim_pk: int, reason: str,
                       due_at: datetime, event_pk: int | None = None,
                       notification_pk: int | None = None) -> ContactTask | None:
    """A person must phone the victim. One open task per victim, reason and event."""
    if repository.open_task(session, victim_pk, reason, event_pk) is not None:
        return None
    task = ContactTask(case_pk=case_pk, victim_pk=victim_pk, reason=reason, event_pk=event_pk,
                       notification_pk=notification_pk, due_at=due_at, created_at=utcnow())
    session.add(task)
    session.flush()  # the session does not autoflush: later checks in this transaction see it
    return task


# --- evidence for the obligations engine ----------------------------------------------------

def _record_informed(session: Session, victim_pk: int, event_pk: int | None, at: datetime,
                     source: str) -> None:
    if event_pk is None:
        return
    obligations.record_informed(session, victim_pk, event_pk, at, source)


# --- delivery ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claimed:
    notification_pk: int
    attempt_pk: int
    attempt_number: int
    worker: str
    message: p.Outgoing


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _content(row: Notification, members: list[Notification]) -> templates.Content:
    return templates.Content(
        template=templates.DIGEST if members else row.template, params=row.params,
        language=row.language, discreet=row.discreet or any(m.discreet for m in members),
        ack_token=row.params.get("ack"), count=1 + len(members))


def _quiet_hold(row: Notification,
                victim: tuple[Victim, NotificationPreference | None] | None,
                now: datetime) -> datetime | None:
    """The end of the victim's quiet hours if the row would go inside them (not an escape)."""
    if victim is None:
        return None
    return _held_until(effective_preferences(*victim), row.template in URGENT_TYPES, now)


def _limit_wait(settings: Settings, row: Notification, sends: list[tuple[datetime, str | None]],
                body_hash: str, now: datetime) -> datetime | None:
    """When this row may go, if a digest window or a carrier limit holds it back."""
    if sends and settings.notification_digest_seconds:
        window = timedelta(seconds=settings.notification_digest_seconds)
        last = sends[-1][0]
        if last > now - window:
            return last + window
    if row.channel != "sms":
        return None
    hour = timedelta(hours=1)
    if len(sends) >= settings.sms_hourly_limit:
        return sends[-settings.sms_hourly_limit][0] + hour
    identical = [at for at, h in sends if h == body_hash]
    if len(identical) >= settings.sms_identical_hourly_limit:
        return identical[-settings.sms_identical_hourly_limit] + hour
    return None


Address = tuple[str, str]  # (channel, to)


def _group_by_address(due: list[Notification], extra: list[Notification]
                      ) -> list[tuple[Notification, list[Notification]]]:
    """(row to send, rows folded into its digest), in claim order. Safety alerts go alone;
    ordinary rows due to one address go as one message carried by the first of them."""
    groups: list[tuple[Notification, list[Notification]]] = []
    carriers: dict[Address, list[Notification]] = {}
    for row in due:
        if row.safety_critical:
            groups.append((row, []))
        elif (row.channel, row.to) in carriers:
            carriers[(row.channel, row.to)].append(row)
        else:
            members: list[Notification] = []
            carriers[(row.channel, row.to)] = members
            groups.append((row, members))
    for row in extra:
        members = carriers.get((row.channel, row.to))
        if members is not None:
            members.append(row)
    return [(row, members[:MAX_DIGEST]) for row, members in groups]


MAX_DIGEST = 50


def claim(session: Session, settings: Settings, provider_names: dict[str, str], worker: str,
          now: datetime | None = None) -> list[Claimed]:
    """Claims a batch of due rows (a lease each), folding bursts into digests; commits.

    A fixed number of statements per batch, whatever its size: the due rows, the other rows
    due to the same addresses, what those addresses were sent in the last hour, then one
    batched UPDATE and one multi-row INSERT of the attempts."""
    now = now or utcnow()
    lease = timedelta(seconds=settings.notification_lease_seconds)
    due = list(repository.claim_due(session, now, settings.notification_batch_size))
    addresses = {(row.channel, row.to) for row in due if not row.safety_critical}
    ids = [row.id for row in due]
    extra = list(repository.digestible_to(session, addresses, now, ids, MAX_DIGEST))
    sends = repository.recent_sends_to(session, addresses, now - timedelta(hours=1))
    # A row held by a digest window or a carrier limit may come due inside quiet hours.
    quiet = repository.quiet_hours_of(session, {r.victim_pk for r in due if not r.safety_critical})
    claimed: list[tuple[Notification, NotificationAttempt, templates.Rendered]] = []
    for row, members in _group_by_address(due, extra):
        rendered = templates.render(_content(row, members), settings.base_url)
        body_hash = hashlib.sha256(rendered.text.encode()).hexdigest()[:16]
        if not row.safety_critical:  # safety alerts go at once, whatever the limits
            mine = {row.id, *(m.id for m in members)}
            sent = [(at, h) for pk, at, h in sends.get((row.channel, row.to), ())
                    if pk not in mine]
            wait = (_quiet_hold(row, quiet.get(row.victim_pk), now)
                    or _limit_wait(settings, row, sent, body_hash, now))
            if wait is not None:
                for held in (row, *members):
                    held.next_attempt_at = max(held.next_attempt_at, wait)
                continue
        for member in members:
            member.status, member.digest_pk, member.status_at = SENDING, row.id, now
        row.status, row.status_at = SENDING, now
        row.claimed_until, row.claimed_by = now + lease, worker
        row.attempts += 1
        row.first_attempt_at = row.first_attempt_at or now
        row.sent_at = now
        row.provider = provider_names[row.channel]
        row.subject = rendered.subject if row.channel == "email" else None
        row.body, row.body_hash = rendered.text, body_hash
        attempt = NotificationAttempt(notification_pk=row.id, number=row.attempts,
                                      worker=worker, provider=row.provider, started_at=now)
        session.add(attempt)
        claimed.append((row, attempt, rendered))
    session.flush()
    out = [Claimed(row.id, attempt.id, attempt.number, worker,
                   p.Outgoing(row.id, row.channel, row.to, rendered.subject, rendered.text,
                              rendered.html))
           for row, attempt, rendered in claimed]
    session.commit()
    return out


@dataclass(frozen=True)
class Outcome:
    sent: p.Sent | None = None
    retry: str | None = None  # error code
    permanent: str | None = None  # error code
    technical: str | None = None  # error code


def send(provider: p.Provider, message: p.Outgoing) -> Outcome:
    try:
        return Outcome(sent=provider.send(message))
    except p.TemporaryFailure as exc:
        return Outcome(retry=exc.code)
    except p.PermanentFailure as exc:
        return Outcome(permanent=exc.code)
    except p.TechnicalFailure as exc:
        return Outcome(technical=exc.code)
    except Exception as exc:
        log.exception("provider %s failed unexpectedly", provider.name)
        return Outcome(retry=f"error-{type(exc).__name__}")


def record_outcomes(session: Session, results: list[tuple[Claimed, Outcome]],
                    now: datetime | None = None) -> None:
    """Stores what the provider said about several tries of one worker (the caller commits).
    The usual case, accepted and awaiting a receipt on a row still ours as we left it, takes
    two statements for all of them; anything else goes through `record_outcome`."""
    now = now or utcnow()
    handed = [(claimed.notification_pk, claimed.attempt_pk, claimed.attempt_number,
               outcome.sent.provider_ref) for claimed, outcome in results
              if outcome.sent is not None and outcome.sent.status == SENDING]
    done = repository.record_handed_over(session, handed, results[0][0].worker, now) \
        if handed else set()
    for claimed, outcome in results:
        if claimed.notification_pk not in done:
            _record_one(session, claimed, outcome, now)


def record_outcome(session: Session, claimed: Claimed, outcome: Outcome,
                   now: datetime | None = None) -> None:
    """Stores what the provider said about one try (the caller commits)."""
    record_outcomes(session, [(claimed, outcome)], now)


def _record_one(session: Session, claimed: Claimed, outcome: Outcome, now: datetime) -> None:
    row = repository.lock_notification(session, claimed.notification_pk)
    attempt = repository.get_attempt(session, claimed.attempt_pk)
    assert row is not None and attempt is not None
    attempt.finished_at = now
    if outcome.sent is not None:
        attempt.outcome, attempt.provider_ref = "accepted", outcome.sent.provider_ref
    elif outcome.retry is not None:
        attempt.outcome, attempt.error = "retry", outcome.retry
    elif outcome.technical is not None:
        attempt.outcome, attempt.error = TECHNICAL_FAILURE, outcome.technical
    else:
        attempt.outcome, attempt.error = PERMANENT_FAILURE, outcome.permanent
    ours = row.claimed_by == claimed.worker and row.attempts == claimed.attempt_number
    # A fast provider's receipt for this try can arrive before this record: it finished the row
    # and let go of the claim, and the reference is still ours to record.
    overtaken = outcome.sent is not None and row.attempts == claimed.attempt_number \
        and row.status in FINAL_STATUSES and row.provider_ref is None
    # If the sweep took the row back (our lease ran out) but it has not been sent again yet,
    # our send still counts and no duplicate goes out.
    if not ours and not overtaken and (outcome.sent is None or row.status != CREATED):
        return
    if outcome.sent is not None:
        row.provider_ref = outcome.sent.provider_ref
        row.claimed_until = row.claimed_by = None
        if row.status in FINAL_STATUSES:  # a receipt overtook us
            return
        row.status, row.status_at = SENDING, now
        for member in repository.digest_members(session, row.id):
            member.status = SENDING
        if outcome.sent.status != SENDING:
            finish(session, row, outcome.sent.status, now)
        return
    if row.status in FINAL_STATUSES:
        return
    if outcome.permanent is not None:
        finish(session, row, PERMANENT_FAILURE, now)
    elif outcome.technical is not None:
        finish(session, row, TECHNICAL_FAILURE, now)
    elif row.first_attempt_at and now - row.first_attempt_at >= rules.RETRY_WINDOW:
        attempt.outcome = TECHNICAL_FAILURE
        finish(session, row, TECHNICAL_FAILURE, now)
    else:
        _reschedule(session, row, now + rules.retry_delay(row.attempts))


def _reschedule(session: Session, row: Notification, at: datetime) -> None:
    if not row.urgent:
        victim = repository.get_victim(session, row.victim_pk)
        if victim is not None:
            prefs = effective_preferences(victim, repository.get_preference(session, victim.id))
            at = rules.quiet_until(at, prefs.quiet_from, prefs.quiet_to) or at
    row.status, row.next_attempt_at = CREATED, at
    row.claimed_until = row.claimed_by = None
    _release_members(session, row, at)


def _release_members(session: Session, row: Notification, at: datetime) -> None:
    """Undo a digest (its carrier goes back to the queue): members are queued on their own."""
    for member in repository.digest_members(session, row.id):
        member.status, member.digest_pk, member.next_attempt_at = CREATED, None, at


def finish(session: Session, row: Notification, status: str, now: datetime) -> None:
    """A final status for a row and the rows its digest carried; then evidence or fallback."""
    row.status, row.status_at = status, now
    row.claimed_until = row.claimed_by = None
    rows = [row, *repository.digest_members(session, row.id)]
    for item in rows[1:]:
        item.status, item.status_at = status, now
    NOTIFICATIONS.labels(row.channel, status).inc()
    for item in rows:
        if status == DELIVERED:
            _record_informed(session, item.victim_pk, item.event_pk, now, "delivery_receipt")
        else:
            _after_failure(session, item, now)


def _other_address(session: Session, row: Notification, channel: str) -> str | None:
    victim = repository.get_victim(session, row.victim_pk)
    if victim is None:
        return None
    prefs = effective_preferences(victim, repository.get_preference(session, victim.id))
    person: Any = victim if row.recipient == "victim" else victim.representative
    if person is None:
        return None
    if channel == "sms":
        if not prefs.sms or not person.mobile or repository.opted_out(session, [person.mobile]):
            return None
        return person.mobile
    return person.email if prefs.email else None


def _after_failure(session: Session, row: Notification, now: datetime) -> None:
    """Try the victim's other channel once; if nothing else can reach them, a person calls."""
    other = "email" if row.channel == "sms" else "sms"
    address = _other_address(session, row, other)
    if address and not repository.has_copy(session, row, other):
        session.add(Notification(
            case_pk=row.case_pk, victim_pk=row.victim_pk, event_pk=row.event_pk,
            recipient=row.recipient, channel=other, to=address, template=row.template,
            language=row.language, discreet=row.discreet, safety_critical=row.safety_critical,
            urgent=row.urgent, params=row.params, status=CREATED, next_attempt_at=now,
            fallback_of_pk=row.id, created_at=now))
        notify_workers(session, WAKE_TOPIC)
        return
    if row.recipient != "victim" or repository.live_copy_exists(session, row):
        return
    if repository.open_task(session, row.victim_pk) is None:
        raise_contact_task(session, row.case_pk, row.victim_pk, "undeliverable", now,
                           event_pk=row.event_pk, notification_pk=row.id)


# Sends in flight at once per batch on PostgreSQL: providers are I/O-bound (a Twilio or Notify
# call waits on the network far longer than it computes). A SIGKILL can repeat at most these.
SEND_CONCURRENCY = 10


class Deliverer:
    """The delivery job: claim a batch in one transaction; send it in chunks, the sends of a
    chunk at once and outside any transaction; record each chunk's outcomes in one short
    transaction. A crash can only repeat the chunk in flight. Leases are renewed for the rest
    of the batch, in one statement, whenever a third of the lease has gone by."""

    def __init__(self, settings: Settings, providers: dict[str, p.Provider] | None = None
                 ) -> None:
        self.settings = settings
        self.providers = providers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def warm_up(self, factory: sessionmaker[Session]) -> None:
        """Builds the providers when the worker starts, so that its first sends do not."""
        self._providers(factory)

    def _providers(self, factory: sessionmaker[Session]) -> dict[str, p.Provider]:
        with self._lock:  # one client per provider, shared by the worker's threads
            if self.providers is None:
                self.providers = p.providers_for(self.settings, factory)
        return self.providers

    def _chunk_size(self, factory: sessionmaker[Session]) -> int:
        bind = factory.kw.get("bind")
        # SQLite has one writer at a time: the embedded default sends one by one.
        return SEND_CONCURRENCY if bind is not None and bind.dialect.name == "postgresql" \
            else 1

    def _send_all(self, providers: dict[str, p.Provider], items: list[Claimed]
                  ) -> list[Outcome]:
        if len(items) == 1:
            return [send(providers[items[0].message.channel], items[0].message)]
        with self._lock:
            if self._pool is None:  # shared by the worker's threads
                self._pool = ThreadPoolExecutor(4 * SEND_CONCURRENCY, "tmc-send")
        return list(self._pool.map(
            lambda item: send(providers[item.message.channel], item.message), items))

    def __call__(self, factory: sessionmaker[Session]) -> int:
        providers = self._providers(factory)
        names = {channel: provider.name for channel, provider in providers.items()}
        worker = worker_id()
        with factory() as session:
            batch = claim(session, self.settings, names, worker)
        lease = self.settings.notification_lease_seconds
        renew_at = time.monotonic() + lease / 3
        ours = {item.notification_pk for item in batch}
        chunk = self._chunk_size(factory)
        for start in range(0, len(batch), chunk):
            if time.monotonic() >= renew_at:
                ours = self._renew(factory, batch[start:], lease)
                renew_at = time.monotonic() + lease / 3
            # A row the sweep took back (we were too slow) is someone else's to send.
            items = [item for item in batch[start:start + chunk]
                     if item.notification_pk in ours]
            if not items:
                continue
            outcomes = self._send_all(providers, items)
            with factory() as session:
                record_outcomes(session, list(zip(items, outcomes, strict=True)))
                session.commit()
        return len(batch)

    @staticmethod
    def _renew(factory: sessionmaker[Session], items: list[Claimed], lease: float) -> set[int]:
        with factory() as session:
            held = repository.renew_leases(
                session, [(i.notification_pk, i.attempt_number) for i in items],
                items[0].worker, utcnow() + timedelta(seconds=lease))
            session.commit()
        return held


# --- receipts ---------------------------------------------------------------------------------

def apply_receipt(session: Session, notification_pk: int, status: str,
                  now: datetime | None = None) -> bool:
    """A provider's delivery receipt. Statuses never move backwards; the caller commits."""
    now = now or utcnow()
    row = repository.lock_notification(session, notification_pk)
    if row is None or row.status in FINAL_STATUSES or status == SENDING:
        return False
    if status not in FINAL_STATUSES:
        return False
    if row.status == CREATED and status != DELIVERED:
        return False  # a late failure report of an earlier try: the retry goes on
    finish(session, row, status, now)
    return True


# --- the sweep and the safety escalation --------------------------------------------------------

def sweep(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """Recovers rows whose worker died (lease expired) and rows no receipt ever came for."""
    now = now or utcnow()
    handled = 0
    for row in repository.expired_claims(session, now, limit):
        attempt = repository.open_attempt(session, row.id, row.attempts)
        if attempt is not None:
            attempt.outcome, attempt.finished_at = "abandoned", now
            attempt.error = "lease expired: the worker stopped mid-send"
        row.status, row.next_attempt_at = CREATED, now
        row.claimed_until = row.claimed_by = None
        _release_members(session, row, now)
        handled += 1
    for row in repository.silent_since(session, now - rules.RECEIPT_TIMEOUT, limit):
        finish(session, row, "temporary-failure", now)
        handled += 1
    if handled:
        notify_workers(session, WAKE_TOPIC)
    session.commit()
    return handled


def escalate_unacknowledged(session: Session, now: datetime | None = None) -> int:
    """Safety alerts not acknowledged in time: a person at the Victim Care Hub calls."""
    now = now or utcnow()
    alerts = repository.overdue_alerts(session, now, 200)
    for alert in alerts:
        alert.escalated_at = now
        raise_contact_task(session, alert.case_pk, alert.victim_pk, "safety-ack-overdue", now,
                           event_pk=alert.event_pk)
    session.commit()
    return len(alerts)


# --- "no news is not forgotten" -------------------------------------------------------------------
# The obligations engine's regular-update rule is the one definition of "the victim's interval
# passed with no police update": its row for the current period is overdue and unmet.

REGULAR_UPDATE_RULE = "regular-update"


def send_update_reminders(session: Session, now: datetime | None = None,
                          limit: int = 200) -> int:
    """For every victim whose interval passed with no update: tells them nothing new has
    happened (held through quiet hours like any message) and asks a person to get the officer
    in charge to update them. Once per interval, whatever number of workers run it; commits."""
    now = now or utcnow()
    sent = 0
    for row in repository.overdue_regular_updates(session, REGULAR_UPDATE_RULE, now, limit):
        victim = repository.get_victim(session, row.victim_pk)
        if victim is None:
            continue
        prefs = effective_preferences(victim, repository.get_preference(session, victim.id))
        every = timedelta(days=prefs.update_interval_days)
        number = 1 + int((now - row.due_at) / every)
        due = row.due_at + (number - 1) * every
        if not repository.add_reminder(session, {
                "case_pk": row.case_pk, "victim_pk": victim.id, "obligation_pk": row.id,
                "number": number, "due_at": due, "next_at": due + every, "created_at": now}):
            continue  # another worker sent this one
        _queue_notice(session, victim, prefs, templates.UPDATE_REMINDER, now)
        raise_contact_task(session, victim.case_pk, victim.id, "update-overdue", now)
        sent += 1
    if sent:
        notify_workers(session, WAKE_TOPIC)
    session.commit()
    return sent


# --- acknowledgements and replies ---------------------------------------------------------------

def _acknowledge(session: Session, alert: SafetyAlert, source: str, now: datetime) -> None:
    if alert.acknowledged_at is not None:
        return
    alert.acknowledged_at, alert.acknowledged_by = now, source
    _record_informed(session, alert.victim_pk, alert.event_pk, now, "acknowledged")


def acknowledge(session: Session, token: str, now: datetime | None = None) -> bool:
    """The victim opened the link in a safety alert and confirmed. Commits."""
    alert = repository.alert_by_token(session, token)
    if alert is None:
        return False
    _acknowledge(session, alert, "link", now or utcnow())
    session.commit()
    return True


def alert_exists(session: Session, token: str) -> bool:
    return repository.alert_by_token(session, token) is not None


def handle_inbound_sms(session: Session, number: str, body: str,
                       now: datetime | None = None) -> str:
    """A text from a victim: STOP, START, or OK (acknowledges the latest safety alert).
    Returns what it did; commits. We never reply by SMS."""
    now = now or utcnow()
    word = " ".join(body.strip().upper().split()).rstrip(".!")
    victim_pks = repository.victim_pks_reached_at(session, number)
    if word in STOP_WORDS:
        _opt_out(session, number, victim_pks, now)
        action = "stop"
    elif word in START_WORDS:
        repository.remove_opt_out(session, number)
        action = "start"
    elif word in ACK_WORDS:
        alert = repository.latest_open_alert(session, victim_pks)
        if alert is not None:
            _acknowledge(session, alert, "sms-reply", now)
        action = "ack" if alert else "ignored"
    else:
        action = "ignored"
    session.commit()
    return action


def _opt_out(session: Session, number: str, victim_pks: list[int], now: datetime) -> None:
    if repository.get_opt_out(session, number) is None:
        session.add(SmsOptOut(number=number, opted_out_at=now))
        session.flush()
    # Nothing more goes to this number; the victim must still be told, so a person calls.
    for victim in repository.victims_by_pk(session, victim_pks):
        raise_contact_task(session, victim.case_pk, victim.id, "sms-opt-out", now)
    for row in repository.pending_sms_to(session, number):
        finish(session, row, PERMANENT_FAILURE, now)


# --- what the victim can see --------------------------------------------------------------------

def messages_sent_to(session: Session, victim_pk: int) -> list[Notification]:
    """The victim's "messages we sent you", newest first."""
    return list(repository.notifications_of_victim(session, victim_pk))
