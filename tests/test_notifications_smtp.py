"""Email over real SMTP: an aiosmtpd server in the test process."""

from __future__ import annotations

import email
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from app.notifications.models import DELIVERED, PERMANENT_FAILURE
from app.notifications.providers import OutboxProvider, SmtpEmail
from tests.agency_client import opened, victim
from tests.live_server import free_port
from tests.notify_helpers import deliver, factory_of, rows, tasks

REF = "01/77777/26"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      _class=EmailMessage,
                                                      policy=email.policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox():
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def smtp_settings(settings, mailbox):
    return settings.model_copy(update={"email_backend": "smtp", "smtp_host": "127.0.0.1",
                                       "smtp_port": mailbox.port,
                                       "email_from": "Track My Crime <no-reply@example.com>"})


@pytest.fixture
def providers(smtp_settings, engine):
    return {"sms": OutboxProvider(factory_of(engine)), "email": SmtpEmail(smtp_settings)}


def test_email_has_plain_text_and_html_parts(police, engine, smtp_settings, providers, mailbox):
    police.send_ok("case.opened", REF, opened(victims=[victim(mobile=None)]))
    deliver(engine, smtp_settings, providers)
    [message] = mailbox.messages
    assert message["To"] == "v1@example.com"
    assert message["Subject"] == "An update about your case"
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Your report has been recorded" in plain and "http://testserver/" in plain
    assert '<a href="http://testserver/">' in html
    [row] = rows(engine)
    assert row.status == DELIVERED and row.provider == "smtp"
    assert row.provider_ref and row.provider_ref in message["Message-ID"]


def test_refused_address_is_a_permanent_failure(police, engine, smtp_settings, providers,
                                                mailbox):
    mailbox.refuse.add("v1@example.com")
    police.send_ok("case.opened", REF, opened(victims=[victim(mobile=None)]))
    deliver(engine, smtp_settings, providers)
    [row] = rows(engine)
    assert row.status == PERMANENT_FAILURE
    assert [t.reason for t in tasks(engine)] == ["undeliverable"]
    assert mailbox.messages == []
