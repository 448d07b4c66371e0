"""Emails to staff (a new message, an overdue message, an escalation, a hand-over), sent through
the notification providers (app/notifications/providers.py: SMTP, GOV.UK Notify, dev outbox).

They live in their own small outbox because the notification outbox is the victim's ("messages
we sent you", the victim's channels, quiet hours and fallbacks). Same delivery shape: claim due
rows with SKIP LOCKED and a lease, commit, send outside any transaction, record the outcome.

What they say is fixed wording and a link to the staff console: never a victim's name, words
or crime reference.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from app.contact import repository
from app.contact.models import FAILED, PENDING, SENDING, SENT, StaffEmail
from app.core.config import Settings
from app.core.db import utcnow
from app.notifications import providers as p

log = logging.getLogger("tmc.contact")

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
BATCH = 20

# template -> (subject, sentence, staff console path with {case_pk})
WORDING = {
    "new_message": ("A victim has sent a message",
                    "A victim on one of your cases has sent a new message.",
                    "/staff/cases/{case_pk}/messages"),
    "message_overdue": ("A victim's message is waiting for a reply",
                        "A victim's message has not been answered in time and is now with you.",
                        "/staff/cases/{case_pk}/messages"),
    "handover": ("A case with an unanswered message is now yours",
                 "A case with a victim's unanswered message has been handed over to you.",
                 "/staff/cases/{case_pk}/messages"),
    "escalation": ("A victim has escalated a concern",
                   "A victim has raised a concern about their case and it is with you.",
                   "/staff/cases/{case_pk}/messages"),
}


def render(row: StaffEmail, base_url: str) -> tuple[str, str, str]:
    """(subject, text, html) of one staff email."""
    subject, sentence, path = WORDING[row.template]
    link = base_url.rstrip("/") + path.format(case_pk=int(row.params["case_pk"]))
    text = f"{sentence} Read it in the staff console: {link}"
    body_html = (f"<p>{html.escape(sentence)}</p><p>Read it in the staff console: "
                 f'<a href="{html.escape(link)}">{html.escape(link)}</a></p>')
    return subject, text, body_html


@dataclass(frozen=True)
class Claimed:
    pk: int
    attempt: int
    message: p.Outgoing


def claim(session: Session, settings: Settings, now: datetime) -> list[Claimed]:
    """Due rows (and rows whose worker died), leased to this worker; commits."""
    claimed = []
    for row in repository.claim_staff_emails(session, now, BATCH):
        subject, text, body_html = render(row, settings.base_url)
        row.status, row.claimed_until = SENDING, now + LEASE
        row.attempts += 1
        # notification_pk 0: no notification row answers to it (a receipt for it is ignored).
        claimed.append(Claimed(row.id, row.attempts,
                               p.Outgoing(0, "email", row.to, subject, text, body_html)))
    session.commit()
    return claimed


def record(session: Session, item: Claimed, sent: p.Sent | None, error: p.ProviderError | None,
           now: datetime) -> None:
    row = repository.lock_staff_email(session, item.pk)
    if row is None or row.status != SENDING or row.attempts != item.attempt:
        session.rollback()
        return  # taken back by another worker after our lease ran out
    row.claimed_until = None
    if sent is not None:
        row.status, row.sent_at, row.provider_ref = SENT, now, sent.provider_ref[:100]
    elif isinstance(error, p.PermanentFailure | p.TechnicalFailure) \
            or row.attempts >= MAX_ATTEMPTS:
        row.status, row.last_error = FAILED, error.code if error else "failed"
        log.warning("staff email %s failed: %s", row.id, row.last_error)
    else:
        row.status, row.last_error = PENDING, error.code if error else None
        row.next_attempt_at = now + timedelta(seconds=30 * 2 ** min(row.attempts, 8))
    session.commit()


class StaffEmailDeliverer:
    """The worker job: claim, send each outside any transaction, record each."""

    def __init__(self, settings: Settings, provider: p.Provider | None = None) -> None:
        self.settings = settings
        self.provider = provider

    def __call__(self, factory: sessionmaker[Session]) -> int:
        if self.provider is None:
            self.provider = p.email_provider(self.settings, factory)
        with factory() as session:
            batch = claim(session, self.settings, utcnow())
        for item in batch:
            sent, error = None, None
            try:
                sent = self.provider.send(item.message)
            except p.ProviderError as exc:
                error = exc
            except Exception as exc:  # a provider bug must not lose the email: retry it
                log.exception("staff email provider failed unexpectedly")
                error = p.TemporaryFailure(f"error-{type(exc).__name__}")
            with factory() as session:
                record(session, item, sent, error, utcnow())
        return len(batch)
