"""Twilio SMS through the real twilio SDK, pointed at a local Twilio-compatible server; signed
status callbacks and inbound SMS (STOP, START, OK). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.core.worker import Worker
from app.jobs import all_jobs
from app.notifications import rules, service
from app.notifications.models import (
    CREATED,
    DELIVERED,
    PERMANENT_FAILURE,
    SENDING,
    TECHNICAL_FAILURE,
    SmsOptOut,
)
from app.notifications.providers import OutboxProvider, TwilioSms
from app.obligations.models import ObligationEvidence
from tests.agency_client import opened, victim
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, fake_twilio, settings_for
from tests.notify_helpers import alerts, attempts, deliver, factory_of, outbox, rows, tasks

REF = "01/66666/26"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake():
    with fake_twilio() as server:
        yield server


@pytest.fixture
def twilio_settings(settings, fake):
    return settings_for(settings, fake, notification_digest_seconds=0)


@pytest.fixture
def providers(twilio_settings, engine):
    return {"sms": TwilioSms(twilio_settings), "email": OutboxProvider(factory_of(engine))}


@pytest.fixture
def app(twilio_settings):
    from app.main import create_app

    application = create_app(twilio_settings)
    yield application
    application.state.engine.dispose()


def callback(client, fake, url: str, status: str, sid: str = "SM1", signature: str | None = None):
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID}
    path = url.removeprefix("http://testserver")
    headers = {"X-Twilio-Signature": signature or fake.sign(url, params)}
    return client.post(path, data=params, headers=headers)


def inbound(client, fake, number: str, body: str):
    url = "http://testserver/notifications/twilio/inbound"
    params = {"From": number, "To": FROM_NUMBER, "Body": body, "AccountSid": ACCOUNT_SID,
              "MessageSid": "SMin"}
    return client.post("/notifications/twilio/inbound", data=params,
                       headers={"X-Twilio-Signature": fake.sign(url, params)})


def test_sms_goes_through_the_twilio_sdk_with_a_status_callback(police, engine, twilio_settings,
                                                                providers, fake, client):
    police.send_ok("case.opened", REF, opened())
    assert deliver(engine, twilio_settings, providers) == 1
    [sent] = fake.received
    [row] = rows(engine)
    assert (sent.to, row.provider_ref, row.status) == ("+447700900123", sent.sid, SENDING)
    assert sent.status_callback == f"http://testserver/notifications/twilio/status/{row.id}"
    assert "Alex" not in sent.body and "http://testserver/" in sent.body
    # A forged callback changes nothing.
    forged = callback(client, fake, sent.status_callback, "delivered", sent.sid,
                      signature="bm90IGEgc2lnbmF0dXJl")
    assert forged.status_code == 403
    assert rows(engine)[0].status == SENDING
    # Twilio's callbacks arrive out of order: delivered first, then sent. Never backwards.
    assert callback(client, fake, sent.status_callback, "delivered", sent.sid).status_code == 204
    assert callback(client, fake, sent.status_callback, "sent", sent.sid).status_code == 204
    assert callback(client, fake, sent.status_callback, "failed", sent.sid).status_code == 204
    assert rows(engine)[0].status == DELIVERED
    evidence = rows(engine, ObligationEvidence, kind="informed", source="delivery_receipt")
    assert [e.event_pk for e in evidence] == [row.event_pk]


def test_temporary_failures_retry_with_backoff_then_fall_back_to_email(
        police, engine, twilio_settings, providers, fake):
    police.send_ok("case.opened", REF, opened(victims=[victim()]))
    fake.fail_next = [503, 429]
    deliver(engine, twilio_settings, providers)
    [row] = rows(engine)
    assert row.status == CREATED and row.attempts == 1
    wait = row.next_attempt_at - datetime.now(UTC)
    assert timedelta(0) < wait <= timedelta(seconds=rules.RETRY_BASE_SECONDS)
    deliver(engine, twilio_settings, providers, now=row.next_attempt_at)
    row = rows(engine)[0]
    assert row.attempts == 2 and row.status == CREATED
    assert [a.outcome for a in attempts(engine, row.id)] == ["retry", "retry"]
    assert [a.error for a in attempts(engine, row.id)] == ["twilio-503-20500",
                                                           "twilio-429-20500"]
    # Still failing 4 hours after the first try: technical-failure, then the other channel.
    late = row.first_attempt_at + rules.RETRY_WINDOW + timedelta(minutes=1)
    fake.fail_next = [503]
    deliver(engine, twilio_settings, providers, now=late)
    sms, email = rows(engine)
    assert sms.status == TECHNICAL_FAILURE
    assert (email.channel, email.fallback_of_pk, email.status) == ("email", sms.id, DELIVERED)
    assert [m.recipient for m in outbox(engine)] == ["v1@example.com"]
    assert tasks(engine) == []


def test_when_no_channel_works_a_person_is_asked_to_call(police, engine, twilio_settings,
                                                        providers, fake):
    police.send_ok("case.opened", REF, opened(victims=[victim(email=None)]))
    fake.fail_next = [400]  # an invalid number: permanent at once
    deliver(engine, twilio_settings, providers)
    [row] = rows(engine)
    assert row.status == PERMANENT_FAILURE
    [task] = tasks(engine)
    assert (task.reason, task.victim_pk, task.notification_pk) == ("undeliverable",
                                                                    row.victim_pk, row.id)


def test_inbound_stop_start_and_ok(police, engine, twilio_settings, providers, fake, client):
    police.send_ok("case.opened", REF, opened())
    deliver(engine, twilio_settings, providers)
    police.send_ok("suspect.arrested", REF, {})  # queued, not sent yet
    response = inbound(client, fake, "+447700900123", " stop ")
    assert response.status_code == 200 and "<Message" not in response.text
    assert [o.number for o in rows(engine, SmsOptOut)] == ["+447700900123"]
    arrested = rows(engine, template="suspect.arrested")
    assert [(n.channel, n.status) for n in arrested] == [("sms", PERMANENT_FAILURE),
                                                        ("email", CREATED)]
    assert [t.reason for t in tasks(engine)] == ["sms-opt-out"]
    # After STOP nothing more is queued to the number.
    police.send_ok("suspect.interviewed", REF, {})
    assert [n.channel for n in rows(engine, template="suspect.interviewed")] == ["email"]
    sent_before = len(fake.received)
    deliver(engine, twilio_settings, providers)
    assert len(fake.received) == sent_before
    # START lets texts through again.
    assert inbound(client, fake, "+447700900123", "START").status_code == 200
    assert rows(engine, SmsOptOut) == []
    police.send_ok("suspect.bailed", REF, {})
    assert "sms" in {n.channel for n in rows(engine, template="suspect.bailed")}
    # OK acknowledges the latest safety alert.
    assert inbound(client, fake, "+447700900123", "OK").status_code == 200
    [alert] = alerts(engine)
    assert alert.acknowledged_by == "sms-reply" and alert.acknowledged_at is not None
    # A forged inbound text changes nothing.
    forged = client.post("/notifications/twilio/inbound",
                         data={"From": "+447700900123", "Body": "STOP"},
                         headers={"X-Twilio-Signature": "AAAA"})
    assert forged.status_code == 403
    assert rows(engine, SmsOptOut) == []


def test_service_does_not_choke_on_unknown_numbers(engine, client, fake):
    assert inbound(client, fake, "+447700900555", "OK").status_code == 200
    assert inbound(client, fake, "+447700900555", "hello").status_code == 200
    assert tasks(engine) == []


def test_receipts_for_unknown_rows_are_ignored(engine, client, fake):
    url = "http://testserver/notifications/twilio/status/999999"
    assert callback(client, fake, url, "delivered").status_code == 204


def test_service_level_status_map_covers_twilio_vocabulary():
    from app.notifications.providers import TWILIO_STATUSES

    for status in ("queued", "sending", "sent", "delivered", "undelivered", "failed"):
        assert TWILIO_STATUSES[status] in service.FINAL_STATUSES | {SENDING}


# --- a freshly started worker ------------------------------------------------------------------

def test_a_worker_builds_one_twilio_client_when_it_starts_and_sends_nothing(
        engine, twilio_settings, fake, monkeypatch):
    import twilio.rest

    built = []

    class CountedClient(twilio.rest.Client):
        def __init__(self, *args, **kwargs) -> None:
            built.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(twilio.rest, "Client", CountedClient)
    worker = Worker(engine, all_jobs(twilio_settings), concurrency=4, poll_seconds=30.0)
    worker.start()
    try:
        assert len(built) == 1  # by start(), before any thread ran a job
        time.sleep(0.5)  # every job's start-up run, on every thread
        assert len(built) == 1  # not one per thread, nor one for the staff emails
    finally:
        worker.stop(timeout=5.0)
    assert fake.received == []


# The Messages resource a text is sent through: the SDK imports it (and about a hundred other
# modules of its REST API) on first use, which made the first texts of a new worker slow.
FIRST_SEND_MODULES = ["twilio.rest.api.v2010.account.message"]
START_A_WORKER = f"""
import json, sys
import app.models
from app.core.config import Settings
from app.core.db import make_engine
from app.core.worker import Worker
from app.jobs import all_jobs

modules = {FIRST_SEND_MODULES!r}
settings = Settings()
engine = make_engine(settings.database_url)
worker = Worker(engine, all_jobs(settings), poll_seconds=30.0)
before = [m for m in modules if m in sys.modules]
worker.start()
after = [m for m in modules if m in sys.modules]
worker.stop(timeout=5.0)
print(json.dumps({{"before": before, "after": after}}))
"""


def test_a_fresh_worker_imports_what_its_first_text_needs_when_it_starts(twilio_settings, fake):
    """In a new process: these modules are imported once per process."""
    s = twilio_settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMC_")} | {
        "TMC_ENV": "test", "TMC_DATABASE_URL": s.database_url, "TMC_SECRET_KEY": s.secret_key,
        "TMC_SMS_BACKEND": "twilio", "TMC_TWILIO_API_BASE_URL": fake.base_url,
        "TMC_TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TMC_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TMC_TWILIO_FROM_NUMBER": FROM_NUMBER}
    done = subprocess.run([sys.executable, "-c", START_A_WORKER], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"before": [],
                                                        "after": FIRST_SEND_MODULES}
    assert fake.received == []
