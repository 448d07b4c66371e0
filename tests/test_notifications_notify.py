"""GOV.UK Notify through the real `notifications-python-client`, pointed at a local
Notify-compatible server that checks the client's JWT like Notify; delivery receipts posted to
/notifications/notify/callback with the service's bearer token. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.notifications import rules
from app.notifications.models import (
    CREATED,
    DELIVERED,
    PERMANENT_FAILURE,
    SENDING,
    TECHNICAL_FAILURE,
    Notification,
)
from app.notifications.providers import NotifyProvider
from app.obligations.models import ObligationEvidence
from tests.agency_client import opened, victim
from tests.fake_notify import (
    API_KEY,
    CALLBACK_TOKEN,
    EMAIL_TEMPLATE,
    SMS_TEMPLATE,
    fake_notify,
)
from tests.fake_twilio import wait_for
from tests.notify_helpers import attempts, deliver, factory_of, rows, serve_app, tasks

REF = "01/77777/26"
CALLBACK = "/notifications/notify/callback"


@pytest.fixture
def fake():
    with fake_notify() as server:
        yield server


def with_notify(settings, fake, **extra):
    return settings.model_copy(update={
        "sms_backend": "notify", "email_backend": "notify", "notify_api_key": API_KEY,
        "notify_base_url": fake.base_url, "notify_sms_template_id": SMS_TEMPLATE,
        "notify_email_template_id": EMAIL_TEMPLATE, "notify_callback_token": CALLBACK_TOKEN,
        "notification_digest_seconds": 0} | extra)


@pytest.fixture
def notify_settings(settings, fake):
    return with_notify(settings, fake)


def notify_providers(settings):
    return {"sms": NotifyProvider(settings, "sms"), "email": NotifyProvider(settings, "email")}


@pytest.fixture
def providers(notify_settings):
    return notify_providers(notify_settings)


@pytest.fixture
def app(notify_settings):
    from app.main import create_app

    application = create_app(notify_settings)
    yield application
    application.state.engine.dispose()


def receipt(client, fake, row, status: str, token: str | None = CALLBACK_TOKEN):
    payload = fake.receipt(row.provider_ref, str(row.id), row.to, row.channel, status)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(CALLBACK, json=payload, headers=headers)


def test_sms_and_email_go_through_notify_with_our_templates(police, engine, notify_settings,
                                                           providers, fake):
    police.send_ok("case.opened", REF, opened(victims=[
        victim("V1"), victim("V2", mobile=None, email="v2@example.com")]))
    assert deliver(engine, notify_settings, providers) == 2
    by_to = {r.to: r for r in fake.received}
    sms, email = (rows(engine, channel=c)[0] for c in ("sms", "email"))
    got_sms, got_email = by_to["+447700900123"], by_to["v2@example.com"]
    assert (got_sms.kind, got_sms.template_id) == ("sms", SMS_TEMPLATE)
    assert got_sms.personalisation == {"body": sms.body}
    assert got_sms.reference == str(sms.id)
    assert (got_email.kind, got_email.template_id) == ("email", EMAIL_TEMPLATE)
    assert got_email.personalisation == {"subject": email.subject, "body": email.body}
    assert got_email.reference == str(email.id)
    for row, got in ((sms, got_sms), (email, got_email)):
        assert (row.status, row.provider, row.provider_ref) == (SENDING, "notify", got.id)
        assert "Your report has been recorded" in row.body
    assert fake.refused == []


def test_discreet_victims_get_nothing_but_a_link(police, engine, notify_settings, providers,
                                                 fake):
    police.send_ok("case.opened", REF, opened("domestic_abuse", victims=[
        victim("V1"), victim("V2", mobile=None, email="v2@example.com")]))
    deliver(engine, notify_settings, providers)
    assert len(fake.received) == 2
    for got in fake.received:
        text = " ".join(str(v) for v in got.personalisation.values())
        assert text.startswith("You have a new message")
        for secret in ("Alex", "Testperson", "Hackney", "report", "crime", "police",
                       "Track My Crime"):
            assert secret not in text


def test_rate_limits_and_server_errors_are_retried(police, engine, notify_settings, providers,
                                                   fake):
    police.send_ok("case.opened", REF, opened())
    fake.fail_next = [429]
    deliver(engine, notify_settings, providers)
    [row] = rows(engine)
    assert (row.status, row.attempts) == (CREATED, 1)
    assert timedelta(0) < row.next_attempt_at - datetime.now(UTC) \
        <= timedelta(seconds=rules.RETRY_BASE_SECONDS)
    fake.fail_next = [500, 503]
    deliver(engine, notify_settings, providers, now=row.next_attempt_at)
    row = rows(engine)[0]
    deliver(engine, notify_settings, providers, now=row.next_attempt_at)
    row = rows(engine)[0]
    assert [(a.outcome, a.error) for a in attempts(engine, row.id)] == [
        ("retry", "notify-429"), ("retry", "notify-500"), ("retry", "notify-503")]
    assert row.status == CREATED and fake.received == []
    deliver(engine, notify_settings, providers, now=row.next_attempt_at)
    row = rows(engine)[0]
    assert (row.status, row.attempts, len(fake.received)) == (SENDING, 4, 1)
    assert attempts(engine, row.id)[-1].outcome == "accepted"


def test_a_bad_api_key_is_refused_by_notify_and_retried_then_fails(police, engine,
                                                                   notify_settings, fake):
    """Notify checks the JWT: a key with the wrong secret gets 403, which is our fault, not the
    victim's address: retried (the operator can fix the key) until the window ends."""
    wrong = API_KEY[:-36] + "00000000-0000-4000-8000-000000000000"
    bad = with_notify(notify_settings, fake, notify_api_key=wrong)
    police.send_ok("case.opened", REF, opened(victims=[victim(email=None)]))
    deliver(engine, bad, notify_providers(bad))
    [row] = rows(engine)
    assert fake.refused == [403] and fake.received == []
    assert (row.status, attempts(engine, row.id)[0].error) == (CREATED, "notify-403")
    late = row.first_attempt_at + rules.RETRY_WINDOW + timedelta(minutes=1)
    deliver(engine, bad, notify_providers(bad), now=late)
    assert rows(engine)[0].status == TECHNICAL_FAILURE
    assert [t.reason for t in tasks(engine)] == ["undeliverable"]  # no email to fall back on


def test_a_number_notify_refuses_fails_for_good_and_email_is_tried(police, engine,
                                                                   notify_settings, providers,
                                                                   fake):
    police.send_ok("case.opened", REF, opened())
    with factory_of(engine)() as session:  # a landline: Notify says it is no UK mobile
        row = session.get(Notification, rows(engine)[0].id)
        row.to = "+441632960000"
        session.commit()
    deliver(engine, notify_settings, providers)
    sms, email = rows(engine)
    assert fake.refused[0] == 400
    assert (sms.status, attempts(engine, sms.id)[0].error) == (PERMANENT_FAILURE, "notify-400")
    assert (email.channel, email.fallback_of_pk, email.status) == ("email", sms.id, SENDING)
    assert [r.kind for r in fake.received] == ["email"]


def test_a_template_notify_does_not_know_fails_at_once_without_retrying(
        police, engine, notify_settings, fake):
    wrong = with_notify(notify_settings, fake,
                        notify_sms_template_id="a1b2c3d4-0000-4000-8000-00000000dead")
    police.send_ok("case.opened", REF, opened())
    deliver(engine, wrong, notify_providers(wrong))
    sms, email = rows(engine)
    assert (sms.status, sms.attempts) == (TECHNICAL_FAILURE, 1)
    assert attempts(engine, sms.id)[0].outcome == TECHNICAL_FAILURE
    assert (email.channel, email.status) == ("email", SENDING)


def test_receipts_need_the_bearer_token_and_only_move_forward(police, engine, notify_settings,
                                                              providers, fake, client):
    police.send_ok("case.opened", REF, opened())
    deliver(engine, notify_settings, providers)
    [row] = rows(engine)
    assert receipt(client, fake, row, "delivered", token=None).status_code == 401
    assert receipt(client, fake, row, "delivered", token="not-the-token").status_code == 401
    assert rows(engine)[0].status == SENDING
    assert rows(engine, ObligationEvidence) == []
    assert receipt(client, fake, row, "sending").status_code == 204
    assert rows(engine)[0].status == SENDING
    assert receipt(client, fake, row, "delivered").status_code == 204
    assert receipt(client, fake, row, "temporary-failure").status_code == 204
    assert receipt(client, fake, row, "sending").status_code == 204
    row = rows(engine)[0]
    assert row.status == DELIVERED
    [evidence] = rows(engine, ObligationEvidence, kind="informed")
    assert (evidence.source, evidence.event_pk, evidence.victim_pk) == (
        "delivery_receipt", row.event_pk, row.victim_pk)
    # Receipts for rows we do not have, or without our reference, are ignored.
    payload = fake.receipt("x", "999999", "+447700900123", "sms", "delivered")
    headers = {"Authorization": f"Bearer {CALLBACK_TOKEN}"}
    assert client.post(CALLBACK, json=payload, headers=headers).status_code == 204
    payload["reference"] = None
    assert client.post(CALLBACK, json=payload, headers=headers).status_code == 204


def test_a_permanent_failure_receipt_tries_the_other_channel(police, engine, notify_settings,
                                                             providers, fake, client):
    police.send_ok("case.opened", REF, opened())
    deliver(engine, notify_settings, providers)
    [sms] = rows(engine)
    assert receipt(client, fake, sms, "permanent-failure").status_code == 204
    sms, email = rows(engine)
    assert sms.status == PERMANENT_FAILURE
    assert (email.channel, email.fallback_of_pk, email.status) == ("email", sms.id, CREATED)
    assert receipt(client, fake, sms, "delivered").status_code == 204  # final is final
    assert rows(engine)[0].status == PERMANENT_FAILURE


def test_receipts_from_notify_over_the_wire(police, engine, notify_settings):
    """End to end on real sockets: the worker's send, then Notify posting its receipts."""
    with serve_app(notify_settings) as (base_url, served_settings), \
            fake_notify(callbacks=["sending", "delivered"],
                        callback_url=base_url + CALLBACK) as fake:
        live = with_notify(served_settings, fake)
        police.send_ok("case.opened", REF, opened())
        deliver(engine, live, notify_providers(live))
        assert wait_for(lambda: rows(engine)[0].status == DELIVERED, timeout=30)
        # The fake notes a callback's answer after the app has already acted on it.
        assert wait_for(lambda: len(fake.callback_results) == 2, timeout=10)
        assert fake.callback_results == [204, 204]
    assert fake.received[0].id == rows(engine)[0].provider_ref
