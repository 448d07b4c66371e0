"""The SMS provider down for an hour: the queue holds (nothing fails, nothing is dropped, every
try is recorded with a growing wait), and when the provider is back everything is delivered on
the next try, in the order it was queued. Simulated time, the real twilio SDK and the local
Twilio-compatible server."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.notifications.models import CREATED, SENDING
from app.notifications.providers import OutboxProvider, TwilioSms
from tests.agency_client import opened, victim
from tests.fake_twilio import fake_twilio, settings_for
from tests.notify_helpers import attempts, deliver, factory_of, rows, tasks

REF = "01/77001/26"
OUTAGE = timedelta(hours=1)


@pytest.fixture
def fake():
    with fake_twilio() as server:
        yield server


@pytest.fixture
def twilio_settings(settings, fake):
    return settings_for(settings, fake, notification_digest_seconds=0)


@pytest.fixture
def app(twilio_settings):
    from app.main import create_app

    application = create_app(twilio_settings)
    yield application
    application.state.engine.dispose()


def test_an_hour_long_provider_outage_holds_the_queue_then_delivers(
        police, engine, twilio_settings, fake):
    providers = {"sms": TwilioSms(twilio_settings), "email": OutboxProvider(factory_of(engine))}
    police.send_ok("case.opened", REF, opened(victims=[victim("V1", email=None),
                                                       victim("V2", email=None,
                                                              mobile="07700 900456")]))
    fake.fail_next = [503] * 1000  # down until we say otherwise
    deliver(engine, twilio_settings, providers)
    queued = rows(engine)
    assert len(queued) == 2 and {r.status for r in queued} == {CREATED}
    start = min(r.first_attempt_at for r in queued)

    now = start
    waits = []
    while now < start + OUTAGE:
        now = min(r.next_attempt_at for r in rows(engine))
        deliver(engine, twilio_settings, providers, now=now)
        current = rows(engine)
        assert {r.status for r in current} == {CREATED}, "gave up during a 1-hour outage"
        waits.append(min(r.next_attempt_at for r in current) - now)
    assert len(waits) >= 4 and waits[-1] > waits[0], "the wait between tries grows"

    fake.fail_next = []  # the provider is back
    deliver(engine, twilio_settings, providers, now=max(r.next_attempt_at for r in rows(engine)))
    done = rows(engine)
    assert {r.status for r in done} == {SENDING}  # handed over; receipts would follow
    for row in done:
        tries = attempts(engine, row.id)
        assert len(tries) == row.attempts >= 5
        assert [a.outcome for a in tries[:-1]] == ["retry"] * (len(tries) - 1)
    assert sorted(m.to for m in fake.received) == ["+447700900123", "+447700900456"]
    assert tasks(engine) == []
