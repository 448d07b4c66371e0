"""SMS and email providers behind one interface: `send(message) -> Sent`, raising
`TemporaryFailure` (try again later) or `PermanentFailure` (this address will never work).

- Twilio SMS through the `twilio` SDK, a status callback URL per message;
- email over SMTP (smtplib), plain-text and HTML parts;
- GOV.UK Notify for both, through `notifications-python-client`;
- the dev outbox (the embedded default): captured in the database instead of sent.
"""

from __future__ import annotations

import os
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings
from app.notifications.models import DELIVERED, SENDING

TWILIO_API_HOST = "https://api.twilio.com"


@dataclass(frozen=True)
class Outgoing:
    notification_pk: int
    channel: str  # sms | email
    to: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Sent:
    provider_ref: str
    status: str  # SENDING (a receipt will follow) or DELIVERED (no receipt will come)


class ProviderError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code[:300]


class TemporaryFailure(ProviderError):
    """The provider could not take it now: try again later."""


class PermanentFailure(ProviderError):
    """The provider refused the address for good (invalid number, unsubscribed, ...)."""


class TechnicalFailure(ProviderError):
    """The provider refused the request for a fault of ours (template, configuration) that no
    retry can mend: the message fails now and goes to the victim's other channel."""


class Provider(Protocol):
    name: str

    def send(self, message: Outgoing) -> Sent: ...


def status_callback_url(settings: Settings, notification_pk: int) -> str:
    # Our own row id, not the provider's reference: a receipt may arrive before we stored it.
    return f"{settings.base_url.rstrip('/')}/notifications/twilio/status/{notification_pk}"


# --- dev outbox -------------------------------------------------------------------------------

class OutboxProvider:
    """Captures instead of sending (app.notifications.dev_outbox); counts as delivered."""

    name = "outbox"

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def send(self, message: Outgoing) -> Sent:
        from app.notifications.dev_outbox import capture

        with self.factory() as session:
            captured = capture(session, message.channel, message.to,
                               message.subject if message.channel == "email" else None,
                               message.text)
            session.flush()
            ref = f"outbox-{captured.id}"
            session.commit()
        return Sent(ref, DELIVERED)


# --- Twilio -----------------------------------------------------------------------------------

# Connections kept open to a provider: a worker sends this many messages at once at most.
PROVIDER_CONNECTIONS = 64


def read_environment_once(session: Any, url: str) -> None:
    """Prepares a provider's `requests` session for many sends from many threads: enough pooled
    connections (urllib3 keeps 10 by default and reconnects beyond), and proxy, netrc and
    CA-bundle settings read from the environment once, for the provider's host, instead of on
    every request (which was most of a send's CPU)."""
    from requests.adapters import HTTPAdapter
    from requests.utils import get_environ_proxies

    for scheme in ("https://", "http://"):
        session.mount(scheme, HTTPAdapter(pool_connections=4,
                                          pool_maxsize=PROVIDER_CONNECTIONS))
    session.proxies = get_environ_proxies(url)
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get(
        "CURL_CA_BUNDLE") or True
    session.trust_env = False


def _twilio_http_client(base_url: str | None, timeout: float) -> Any:
    """Twilio's advice for another host (a test double, a proxy): a custom HTTP client."""
    from twilio.http.http_client import TwilioHttpClient

    class RedirectingHttpClient(TwilioHttpClient):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if base_url and url.startswith(TWILIO_API_HOST):
                url = base_url.rstrip("/") + url[len(TWILIO_API_HOST):]
            return super().request(method, url, *args, **kwargs)

    client = RedirectingHttpClient(timeout=timeout)
    read_environment_once(client.session, base_url or TWILIO_API_HOST)
    client.proxy = client.session.proxies  # TwilioHttpClient passes its own on each request
    return client


class TwilioSms:
    name = "twilio"

    def __init__(self, settings: Settings) -> None:
        from twilio.rest import Client

        if not (settings.twilio_account_sid and settings.twilio_auth_token
                and settings.twilio_from_number):
            raise RuntimeError("TMC_SMS_BACKEND=twilio needs TMC_TWILIO_ACCOUNT_SID, "
                               "TMC_TWILIO_AUTH_TOKEN and TMC_TWILIO_FROM_NUMBER")
        self.settings = settings
        self.client = Client(settings.twilio_account_sid, settings.twilio_auth_token,
                             http_client=_twilio_http_client(settings.twilio_api_base_url,
                                                             settings.provider_timeout_seconds))
        # The SDK imports its REST API (about a hundred modules, 0.1-0.3 s) on the first use of
        # a resource: resolved here, when the worker starts, not in its first text. No request.
        self.messages = self.client.messages

    def send(self, message: Outgoing) -> Sent:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            created = self.messages.create(
                to=message.to, from_=self.settings.twilio_from_number, body=message.text,
                status_callback=status_callback_url(self.settings, message.notification_pk))
        except TwilioRestException as exc:
            code = f"twilio-{exc.status}-{exc.code}"
            if exc.status == 429 or exc.status >= 500:
                raise TemporaryFailure(code) from None
            raise PermanentFailure(code) from None
        except (TwilioException, OSError) as exc:  # connection refused, timeout, ...
            raise TemporaryFailure(f"twilio-{type(exc).__name__}") from None
        return Sent(str(created.sid), SENDING)


# Twilio's message statuses in Notify's vocabulary.
TWILIO_STATUSES = {
    "accepted": SENDING, "scheduled": SENDING, "queued": SENDING, "sending": SENDING,
    "sent": SENDING, "delivered": DELIVERED, "read": DELIVERED,
    "undelivered": "temporary-failure", "failed": "permanent-failure",
    "canceled": "technical-failure",
}


# --- SMTP -------------------------------------------------------------------------------------

class SmtpEmail:
    """Plain SMTP to a relay. A relay gives no delivery receipt: its acceptance is our evidence
    that the email was delivered (as far as we can ever know)."""

    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise RuntimeError("TMC_EMAIL_BACKEND=smtp needs TMC_SMTP_HOST")
        self.settings = settings

    def send(self, message: Outgoing) -> Sent:
        email = EmailMessage()
        email["From"] = self.settings.email_from
        email["To"] = message.to
        email["Subject"] = message.subject
        message_id = make_msgid(domain="track-my-crime")
        email["Message-ID"] = message_id
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        try:
            with smtplib.SMTP(self.settings.smtp_host or "", self.settings.smtp_port,
                              timeout=self.settings.provider_timeout_seconds) as smtp:
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if any(400 <= code < 500 for code in codes):
                raise TemporaryFailure(f"smtp-{codes[0]}") from None
            raise PermanentFailure(f"smtp-{codes[0] if codes else 'refused'}") from None
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600 and exc.smtp_code != 552:
                raise PermanentFailure(f"smtp-{exc.smtp_code}") from None
            raise TemporaryFailure(f"smtp-{exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:  # timeouts are OSErrors
            raise TemporaryFailure(f"smtp-{type(exc).__name__}") from None
        return Sent(message_id.strip("<>")[:100], DELIVERED)


# --- GOV.UK Notify ----------------------------------------------------------------------------

class NotifyProvider:
    """GOV.UK Notify for SMS or email, through templates whose content is ((body))."""

    name = "notify"

    def __init__(self, settings: Settings, channel: str) -> None:
        from notifications_python_client.notifications import NotificationsAPIClient

        template = (settings.notify_sms_template_id if channel == "sms"
                    else settings.notify_email_template_id)
        if not settings.notify_api_key or not template:
            raise RuntimeError(f"the notify backend for {channel} needs TMC_NOTIFY_API_KEY and "
                               f"TMC_NOTIFY_{channel.upper()}_TEMPLATE_ID")
        self.template = template
        self.client = NotificationsAPIClient(settings.notify_api_key,
                                             base_url=settings.notify_base_url,
                                             timeout=settings.provider_timeout_seconds)
        read_environment_once(self.client.request_session, settings.notify_base_url)

    def send(self, message: Outgoing) -> Sent:
        from notifications_python_client.errors import APIError

        reference = str(message.notification_pk)
        try:
            if message.channel == "sms":
                response = self.client.send_sms_notification(
                    phone_number=message.to, template_id=self.template,
                    personalisation={"body": message.text}, reference=reference)
            else:
                response = self.client.send_email_notification(
                    email_address=message.to, template_id=self.template,
                    personalisation={"subject": message.subject, "body": message.text},
                    reference=reference)
        except APIError as exc:
            raise notify_failure(exc.status_code, exc.message) from None
        except OSError as exc:
            raise TemporaryFailure(f"notify-{type(exc).__name__}") from None
        return Sent(str(response["id"]), SENDING)


# Notify's 400 messages that are about the recipient (the address will never work); every
# other 400 is about our request (template, personalisation) and no retry can mend it.
NOTIFY_RECIPIENT_ERRORS = ("phone_number", "email_address", "recipient")


def notify_failure(status: int, message: Any) -> ProviderError:
    """Notify's error answer in our terms. 403 (key or clock), 429 (rate or daily limit),
    5xx and connection errors are retried; the retry window ends them as technical-failure."""
    code = f"notify-{status}"
    if status == 400:
        errors = message if isinstance(message, list) else [{"message": str(message)}]
        texts = " ".join(str(e.get("message", "")) if isinstance(e, dict) else str(e)
                         for e in errors)
        if any(word in texts for word in NOTIFY_RECIPIENT_ERRORS):
            return PermanentFailure(code)
        return TechnicalFailure(code)
    return TemporaryFailure(code)


NOTIFY_STATUSES = {
    "created": SENDING, "sending": SENDING, "pending": SENDING, "sent": SENDING,
    "delivered": DELIVERED, "temporary-failure": "temporary-failure",
    "permanent-failure": "permanent-failure", "technical-failure": "technical-failure",
}


_DIRECT: dict[tuple[int, str], tuple[Settings, Provider]] = {}


def direct_provider(settings: Settings, channel: str) -> Provider:
    """A real provider for a message sent outside the outbox (sign-in codes and alerts); not
    the dev outbox, which captures within the caller's own transaction. One per process and
    settings, shared by the request threads as the worker's are by its threads: a new one per
    message opened a new connection (a TLS handshake with Twilio or Notify) for every code."""
    key = (id(settings), channel)
    held = _DIRECT.get(key)
    if held is None or held[0] is not settings:
        held = _DIRECT[key] = (settings, _direct_provider(settings, channel))
    return held[1]


def _direct_provider(settings: Settings, channel: str) -> Provider:
    if channel == "sms":
        return NotifyProvider(settings, "sms") if settings.sms_backend == "notify" \
            else TwilioSms(settings)
    return NotifyProvider(settings, "email") if settings.email_backend == "notify" \
        else SmtpEmail(settings)


def sms_provider(settings: Settings, factory: sessionmaker[Session]) -> Provider:
    match settings.sms_backend:
        case "twilio":
            return TwilioSms(settings)
        case "notify":
            return NotifyProvider(settings, "sms")
        case _:
            return OutboxProvider(factory)


def email_provider(settings: Settings, factory: sessionmaker[Session]) -> Provider:
    match settings.email_backend:
        case "smtp":
            return SmtpEmail(settings)
        case "notify":
            return NotifyProvider(settings, "email")
        case _:
            return OutboxProvider(factory)


def providers_for(settings: Settings, factory: sessionmaker[Session]) -> dict[str, Provider]:
    """The configured provider per channel (built once per worker process)."""
    return {"sms": sms_provider(settings, factory), "email": email_provider(settings, factory)}
