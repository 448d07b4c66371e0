"""Business rules of victim requests to agencies (contract section 6).

`submit` writes a request and its delivery in the caller's transaction; the worker job
(`Deliverer`, "deliver-outbound-webhooks") POSTs it signed with Standard Webhooks, at least once,
on the Standard Webhooks retry schedule, one `outbound_attempt` row per try, reusing the
delivery's webhook-id on every retry. A 2xx ends a delivery; `410 Gone` disables the agency's
endpoint; an exhausted or undeliverable delivery raises an `outbound_task` for the Hub.

Agency replies (`request.acknowledged`, `request.completed`) arrive as ordinary agency events:
`on_event` (called by `app.cases.service.apply_event` in the event's transaction) moves the
request forward and calls the handler its kind registered (`register_reply_handler`).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from prometheus_client import Counter
from sqlalchemy.orm import Session, sessionmaker

from app.agencies import signing
from app.agencies.models import Agency
from app.cases.models import Case, Victim
from app.core import crypto
from app.core.config import Settings
from app.core.db import utcnow
from app.core.worker import notify_workers
from app.notifications.service import worker_id
from app.outbound import delivery, repository
from app.outbound.models import (
    ACKNOWLEDGED,
    COMPLETED,
    DELIVERED,
    DELIVERING,
    DISABLED,
    EXHAUSTED,
    FINAL_DELIVERY_STATUSES,
    PENDING,
    REQUEST_KINDS,
    REQUEST_STATUSES,
    SUBMITTED,
    TASK_ENDPOINT_DISABLED,
    TASK_EXHAUSTED,
    TASK_NO_ENDPOINT,
    AgencyRequest,
    OutboundAttempt,
    OutboundTask,
    OutboundWebhook,
)

log = logging.getLogger("tmc.outbound")

WAKE_TOPIC = "outbound-webhooks"  # wakes only the deliverer of this domain (app.core.worker)

DELIVERIES = Counter("tmc_outbound_webhook_attempts_total",
                     "Outbound webhook tries, by outcome", ["outcome"])

REPLY_TYPES = frozenset({"request.acknowledged", "request.completed"})
# Agency events that name a victim's request: the agency has it, whatever our deliveries say.
ANSWERING_TYPES = REPLY_TYPES | {"message.replied"}
# Agency kinds as features name them; "support" is the contract's support_service.
_AGENCY_KIND_ALIASES = {"support": "support_service"}
BATCH_SIZE = 10
ENDPOINT_DISABLED = "the agency's endpoint is disabled (it answered 410 Gone)"
LEASE = timedelta(seconds=delivery.TIMEOUT_SECONDS * 4)


class RequestError(ValueError):
    """A request the rules do not allow (unknown kind, no agency)."""


# --- reply handlers -----------------------------------------------------------------------------

ReplyHandler = Callable[[Session, AgencyRequest, str, dict[str, Any]], None]
_HANDLERS: dict[str, ReplyHandler] = {}
# Modules that register handlers when imported; imported lazily so replies always find theirs.
_HANDLER_MODULES = ("app.entitlements.service", "app.contact.service")
_handlers_loaded = False


def register_reply_handler(kind: str, handler: ReplyHandler) -> None:
    if kind not in REQUEST_KINDS:
        raise RequestError(f"unknown request kind {kind!r}")
    _HANDLERS[kind] = handler


def _load_handlers() -> None:
    global _handlers_loaded
    if _handlers_loaded:
        return
    for name in _HANDLER_MODULES:
        if _exists(name):
            importlib.import_module(name)
    _handlers_loaded = True


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its package is not in this build
        return False


def handler_for(kind: str) -> ReplyHandler | None:
    _load_handlers()
    return _HANDLERS.get(kind)


# --- submitting ---------------------------------------------------------------------------------

def agency_for(session: Session, case: Case, agency_kind: str) -> Agency | None:
    """The case's linked agency of that kind (the first linked), or None."""
    kind = _AGENCY_KIND_ALIASES.get(agency_kind, agency_kind)
    return repository.linked_agency_of_kind(session, case.id, kind)


def new_webhook_id() -> str:
    return "msg_" + uuid.uuid4().hex


def submit(session: Session, *, case: Case, victim: Victim | None, agency: Agency, kind: str,
           details: dict[str, Any], now: datetime | None = None) -> AgencyRequest:
    """Records a victim's request and queues its delivery, in the caller's transaction (the
    caller commits); workers are woken after the commit."""
    if kind not in REQUEST_KINDS:
        raise RequestError(f"unknown request kind {kind!r}; one of {', '.join(REQUEST_KINDS)}")
    if victim is not None and victim.case_pk != case.id:
        raise RequestError("the victim is not on this case")
    now = now or utcnow()
    request = AgencyRequest(request_id=str(uuid.uuid4()), case_pk=case.id,
                            victim_pk=victim.id if victim else None, agency_pk=agency.id,
                            kind=kind, details=details, status=SUBMITTED, created_at=now)
    session.add(request)
    session.flush()
    webhook = OutboundWebhook(webhook_id=new_webhook_id(), request_pk=request.id,
                              agency_pk=agency.id, event_type="request.submitted",
                              status=PENDING, next_attempt_at=now, attempts=0, created_at=now)
    session.add(webhook)
    session.flush()
    if not _gave_up_undeliverable(session, webhook, agency, now):
        notify_workers(session, WAKE_TOPIC)
    return request


def payload(request: AgencyRequest, case: Case, victim: Victim | None) -> str:
    """The body of `request.submitted` (contract s.6). Deterministic, so every retry sends the
    same bytes."""
    return orjson.dumps({
        "type": "request.submitted",
        "occurred_at": request.created_at.isoformat().replace("+00:00", "Z"),
        "crime_reference": case.crime_reference,
        "data": {"request_id": request.request_id, "kind": request.kind,
                 "victim_ref": victim.victim_ref if victim else None,
                 "details": request.details},
    }, option=orjson.OPT_SORT_KEYS).decode()


# --- replies ------------------------------------------------------------------------------------

def request_for_reply(session: Session, case: Case, request_id: str) -> AgencyRequest | None:
    """The request a reply names, if it is a request on this case (else the reply is 404)."""
    return repository.request_on_case(session, case.id, request_id)


def on_event(session: Session, applied: Any) -> None:
    """Called for every accepted agency event (`app.cases.projection.Applied`) before its
    timeline entry is written: a reply moves its request forward, tells the timeline whose
    request it was (so only that victim sees it, in words about the kind of request), and calls
    the kind's handler."""
    event_type = applied.event.type
    if event_type not in ANSWERING_TYPES:
        return
    request = repository.request_on_case(session, applied.case.id, applied.data["request_id"],
                                         lock=True)
    if request is None:  # checked before the event was stored; kept as a guard
        raise RequestError("no such request on this case")
    _close_tasks(session, request, applied.agency)
    if event_type not in REPLY_TYPES:
        return  # message.replied: the contact domain records the reply
    apply_reply(request, event_type, applied.data, applied.event.occurred_at)
    victim = repository.get_victim(session, request.victim_pk) if request.victim_pk else None
    agency = repository.get_agency(session, request.agency_pk)
    applied.data["kind"] = request.kind
    applied.data["agency_kind"] = agency.kind if agency else None
    if victim is not None:
        applied.data["victim_ref"] = victim.victim_ref
    handler = handler_for(request.kind)
    if handler is not None:
        handler(session, request, event_type, applied.data)


def _close_tasks(session: Session, request: AgencyRequest, agency: Agency) -> None:
    """An agency answered the request, so it reached them: nobody at the Hub need pass it on,
    and a parked delivery must not be sent again when the endpoint comes back."""
    for task in repository.open_tasks_of_request(session, request.id):
        task.resolved_at = utcnow()
        task.resolved_by = f"answered by {agency.agency_id}"[:200]


def apply_reply(request: AgencyRequest, event_type: str, data: dict[str, Any],
                at: datetime) -> None:
    """Statuses only move forward; the earliest acknowledgement and the latest completion (by
    occurred_at) count, so late or repeated replies converge."""
    if event_type == "request.acknowledged":
        if request.acknowledged_at is None or at < request.acknowledged_at:
            request.acknowledged_at = at
        _advance(request, ACKNOWLEDGED)
    elif event_type == "request.completed":
        if request.completed_at is None or at >= request.completed_at:
            request.completed_at = at
            request.decision = data["decision"]
            request.explanation = data.get("explanation")
        _advance(request, COMPLETED)
    else:
        raise RequestError(f"{event_type} is not a reply")


def _advance(request: AgencyRequest, status: str) -> None:
    if REQUEST_STATUSES.index(status) > REQUEST_STATUSES.index(request.status):
        request.status = status


# --- delivery (the worker) ------------------------------------------------------------------------

@dataclass(frozen=True)
class Claimed:
    webhook_pk: int
    attempt_pk: int
    attempt_number: int
    worker: str
    webhook_id: str
    url: str
    body: str
    secrets: tuple[str, ...]


def claim(session: Session, settings: Settings, worker: str, now: datetime,
          limit: int = BATCH_SIZE) -> list[Claimed]:
    """Takes back deliveries whose worker died, then claims a batch of due ones; commits."""
    _sweep_expired(session, now)
    session.flush()
    claimed: list[tuple[OutboundWebhook, OutboundAttempt, Agency, str]] = []
    for webhook in repository.claim_due(session, now, limit):
        agency = repository.agency_with_active_secrets(session, webhook.agency_pk)
        assert agency is not None
        if _gave_up_undeliverable(session, webhook, agency, now):
            continue
        webhook.status, webhook.claimed_until, webhook.claimed_by = DELIVERING, now + LEASE, worker
        webhook.attempts += 1
        webhook.first_attempt_at = webhook.first_attempt_at or now
        attempt = OutboundAttempt(webhook_pk=webhook.id, number=webhook.attempts, worker=worker,
                                  started_at=now)
        session.add(attempt)
        claimed.append((webhook, attempt, agency, _body_of(session, webhook)))
    session.flush()
    secrets_of: dict[int, tuple[str, ...]] = {}
    out = []
    for webhook, attempt, agency, body in claimed:
        if agency.id not in secrets_of:
            newest_first = sorted(agency.secrets, key=lambda s: s.id, reverse=True)
            secrets_of[agency.id] = tuple(crypto.decrypt(settings.secret_key, s.secret_encrypted)
                                          for s in newest_first)
        assert agency.endpoint_url is not None
        out.append(Claimed(webhook.id, attempt.id, attempt.number, worker, webhook.webhook_id,
                           agency.endpoint_url, body, secrets_of[agency.id]))
    session.commit()
    return out


def _body_of(session: Session, webhook: OutboundWebhook) -> str:
    request = repository.get_request(session, webhook.request_pk)
    assert request is not None
    case = repository.get_case(session, request.case_pk)
    assert case is not None
    victim = repository.get_victim(session, request.victim_pk) if request.victim_pk else None
    return payload(request, case, victim)


def _sweep_expired(session: Session, now: datetime) -> None:
    for webhook in repository.expired_claims(session, now, 100):
        attempt = repository.open_attempt(session, webhook.id, webhook.attempts)
        if attempt is not None:
            attempt.outcome, attempt.finished_at = "abandoned", now
            attempt.error = "lease expired: the worker stopped mid-delivery"
        webhook.status, webhook.next_attempt_at = PENDING, now
        webhook.claimed_until = webhook.claimed_by = None


def send(item: Claimed) -> delivery.Response:
    try:
        headers = signing.sign(item.secrets, item.webhook_id, item.body)
    except ValueError as exc:
        return delivery.Response(None, str(exc), 0)
    return delivery.post(item.url, item.body, headers)


def record_outcome(session: Session, item: Claimed, response: delivery.Response,
                   now: datetime) -> str:
    """Stores one try's result and what follows from it; the caller commits. Returns the
    attempt's outcome."""
    webhook = repository.lock_webhook(session, item.webhook_pk)
    attempt = repository.get_attempt(session, item.attempt_pk)
    assert webhook is not None and attempt is not None
    attempt.finished_at = now
    attempt.status_code, attempt.duration_ms = response.status_code, response.duration_ms
    attempt.error = None if response.ok else (response.error or f"HTTP {response.status_code}")
    webhook.last_status_code = response.status_code
    webhook.last_error = attempt.error
    ours = (webhook.claimed_by == item.worker and webhook.attempts == item.attempt_number
            and webhook.status == DELIVERING)
    if response.ok:
        attempt.outcome = "delivered"
        # A late success still counts unless another try is already under way.
        if ours or webhook.status == PENDING:
            _finish(webhook, DELIVERED, now)
    elif response.gone:
        attempt.outcome = "gone"
        if webhook.status not in FINAL_DELIVERY_STATUSES:
            _disable_endpoint(session, webhook, now)
    elif not ours:
        attempt.outcome = "retry"
    else:
        wait = delivery.retry_delay(webhook.attempts)
        if wait is None:
            attempt.outcome = EXHAUSTED
            _give_up(session, webhook, EXHAUSTED, TASK_EXHAUSTED,
                     f"no success after {webhook.attempts} tries: {attempt.error}", now)
        else:
            attempt.outcome = "retry"
            webhook.status, webhook.next_attempt_at = PENDING, now + wait
            webhook.claimed_until = webhook.claimed_by = None
    DELIVERIES.labels(outcome=attempt.outcome).inc()
    log.info("outbound webhook %s try %d: %s (%s)", item.webhook_id, item.attempt_number,
             attempt.outcome, response.status_code or response.error)
    return attempt.outcome


def _gave_up_undeliverable(session: Session, webhook: OutboundWebhook, agency: Agency,
                           now: datetime) -> bool:
    """If the agency cannot receive deliveries (no endpoint, or disabled after a 410), hands
    this one to the Hub; True if it did."""
    if not agency.endpoint_url:
        _give_up(session, webhook, EXHAUSTED, TASK_NO_ENDPOINT,
                 "the agency has no endpoint_url: pass the request on by other means", now)
        return True
    if agency.endpoint_disabled_at is not None:
        _give_up(session, webhook, DISABLED, TASK_ENDPOINT_DISABLED, ENDPOINT_DISABLED, now)
        return True
    return False


def _finish(webhook: OutboundWebhook, status: str, now: datetime) -> None:
    webhook.status, webhook.finished_at = status, now
    webhook.claimed_until = webhook.claimed_by = None


def _give_up(session: Session, webhook: OutboundWebhook, status: str, reason: str,
             error: str, now: datetime) -> None:
    _finish(webhook, status, now)
    webhook.last_error = error[:delivery.MAX_ERROR]
    raise_task(session, webhook, reason, now)


def _disable_endpoint(session: Session, webhook: OutboundWebhook, now: datetime) -> None:
    """410 Gone: the agency withdrew its endpoint. Nothing more is sent to it until an operator
    registers it again; what was waiting goes to the Hub."""
    agency = repository.lock_agency(session, webhook.agency_pk)
    assert agency is not None
    if agency.endpoint_disabled_at is None:
        agency.endpoint_disabled_at = now
        log.warning("agency %s answered 410 Gone: endpoint disabled", agency.agency_id)
    _give_up(session, webhook, DISABLED, TASK_ENDPOINT_DISABLED,
             "the agency answered 410 Gone: its endpoint is disabled", now)
    for waiting in repository.pending_for_agency(session, agency.id):
        _give_up(session, waiting, DISABLED, TASK_ENDPOINT_DISABLED, ENDPOINT_DISABLED, now)


def resume_endpoint(session: Session, agency: Agency, now: datetime | None = None) -> int:
    """An operator enabled an endpoint that had answered 410 Gone: the deliveries parked because
    of it go back in the queue, keeping their webhook-ids (an agency that did get one before
    deduplicates it), and their Hub tasks are resolved. Deliveries someone already passed on
    (task resolved) or that the agency answered stay as they are. In the caller's transaction
    (the caller commits); returns how many deliveries were queued again."""
    now = now or utcnow()
    locked = repository.lock_agency(session, agency.id)  # one at a time with a new 410
    assert locked is not None
    locked.endpoint_disabled_at = None
    resumed = 0
    for webhook, task in repository.parked_by_disabled_endpoint(session, agency.id):
        webhook.status, webhook.next_attempt_at, webhook.finished_at = PENDING, now, None
        webhook.claimed_until = webhook.claimed_by = None
        task.resolved_at, task.resolved_by = now, "endpoint enabled again"
        resumed += 1
    if resumed:
        notify_workers(session, WAKE_TOPIC)
    log.info("agency %s endpoint enabled again: %d deliveries queued", agency.agency_id,
             resumed)
    return resumed


def raise_task(session: Session, webhook: OutboundWebhook, reason: str,
               now: datetime) -> OutboundTask:
    """A person at the Hub must pass the request on. One task per delivery."""
    existing = repository.open_task_for(session, webhook.id)
    if existing is not None:
        return existing
    request = repository.get_request(session, webhook.request_pk)
    assert request is not None
    task = OutboundTask(webhook_pk=webhook.id, request_pk=request.id, case_pk=request.case_pk,
                        reason=reason, created_at=now)
    session.add(task)
    session.flush()
    return task


def resolve_task(session: Session, task_pk: int, by: str, now: datetime | None = None) -> bool:
    """Staff passed the request on; commits. False if there is no such open task."""
    task = session.get(OutboundTask, task_pk)
    if task is None or task.resolved_at is not None:
        return False
    task.resolved_at, task.resolved_by = now or utcnow(), by[:200]
    session.commit()
    return True


class Deliverer:
    """The "deliver-outbound-webhooks" job: claim a batch, POST each outside any transaction,
    record each result in its own transaction (a crash repeats at most the try in flight: at
    least once, and the receiver deduplicates on the webhook-id)."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock

    def __call__(self, factory: sessionmaker[Session]) -> int:
        worker = worker_id()
        with factory() as session:
            batch = claim(session, self.settings, worker, self.clock())
        for item in batch:
            with factory() as session:
                still_ours = repository.renew_lease(session, item.webhook_pk, item.worker,
                                                    item.attempt_number, self.clock() + LEASE)
                session.commit()
            if not still_ours:
                continue
            response = send(item)
            with factory() as session:
                record_outcome(session, item, response, self.clock())
                session.commit()
        return len(batch)
