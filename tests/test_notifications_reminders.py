""""No news is not forgotten": when the victim's interval passes with no police update (the
obligations engine's regular-update row is overdue), the worker tells the victim and asks for
the officer in charge to update them: once per interval, whatever number of workers, never in
quiet hours. The clock is the test's. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from app.core.config import Settings
from app.core.i18n import LONDON
from app.jobs import all_jobs
from app.notifications import service, templates
from app.notifications.models import DELIVERED, UpdateReminder
from app.notifications.providers import OutboxProvider
from app.obligations.models import Obligation
from tests.agency_client import opened, victim
from tests.notify_helpers import deliver, factory_of, outbox, rows, session_of, tasks

REF = "01/44444/26"
REMINDER = templates.UPDATE_REMINDER


@pytest.fixture
def dev(engine):
    provider = OutboxProvider(factory_of(engine))
    return {"sms": provider, "email": provider}


def remind(engine, now: datetime) -> int:
    with session_of(engine) as session:
        return service.send_update_reminders(session, now=now)


def period(engine) -> Obligation:
    """The victim's current regular-update period."""
    current = [o for o in rows(engine, Obligation, rule_id=service.REGULAR_UPDATE_RULE)
               if o.status in ("open", "breached")]
    assert len(current) == 1, current
    return current[0]


def reminders(engine) -> list:
    return rows(engine, template=REMINDER)


def test_one_reminder_per_interval_and_a_task_for_the_officer(police, engine, settings, dev):
    police.send_ok("case.opened", REF, opened())
    deliver(engine, settings, dev)  # the case.opened message
    due = period(engine).due_at
    assert remind(engine, due - timedelta(hours=1)) == 0
    assert reminders(engine) == []
    assert remind(engine, due + timedelta(hours=1)) == 1
    assert remind(engine, due + timedelta(hours=2)) == 0  # the same interval: nothing more
    [row] = reminders(engine)
    assert (row.channel, row.to, row.event_pk, row.recipient) == ("sms", "+447700900123",
                                                                 None, "victim")
    [task] = [t for t in tasks(engine) if t.reason == "update-overdue"]
    assert (task.victim_pk, task.resolved_at) == (row.victim_pk, None)
    deliver(engine, settings, dev, now=due + timedelta(hours=2))
    [row] = reminders(engine)
    assert row.status == DELIVERED
    assert "Nothing new has happened on your case" in row.body and "Alex" not in row.body
    assert row.body in [m.body for m in outbox(engine)]
    # A whole interval later with still no news: the next reminder.
    assert remind(engine, due + timedelta(days=28, hours=1)) == 1
    got = rows(engine, UpdateReminder)
    assert [(r.number, r.due_at) for r in got] == [(1, due), (2, due + timedelta(days=28))]
    assert len(reminders(engine)) == 2


def test_a_police_update_means_no_reminder(police, engine):
    police.send_ok("case.opened", REF, opened())
    first_due = period(engine).due_at
    police.send_ok("investigation.update", REF, {"message": "We are reviewing CCTV."},
                   occurred_at="2026-11-21T09:00:00Z")
    assert period(engine).due_at > first_due
    assert remind(engine, first_due + timedelta(hours=1)) == 0
    assert remind(engine, period(engine).due_at + timedelta(hours=1)) == 1


def test_no_reminders_once_the_investigation_has_ended(police, engine, registry):
    police.send_ok("case.opened", REF, opened())
    due = period(engine).due_at
    police.send_ok("investigation.closed", REF, {"outcome": "no_suspect_identified"},
                   occurred_at="2026-11-21T09:00:00Z")
    assert remind(engine, due + timedelta(days=60)) == 0
    assert rows(engine, UpdateReminder) == []


def test_quiet_hours_hold_the_reminder_until_they_end(police, engine, settings, dev):
    police.send_ok("case.opened", REF, opened(victims=[victim(contact={
        "quiet_hours": {"from": "21:00", "to": "08:00"}})]))
    deliver(engine, settings, dev, now=rows(engine)[0].next_attempt_at)  # case.opened
    sent_before = len(outbox(engine))
    due = period(engine).due_at
    late_evening = datetime.combine(due.astimezone(LONDON).date() + timedelta(days=1),
                                    datetime.min.time().replace(hour=23), tzinfo=LONDON)
    assert remind(engine, late_evening) == 1
    [row] = reminders(engine)
    morning = (late_evening + timedelta(hours=9)).replace(hour=8)
    assert row.next_attempt_at == morning
    deliver(engine, settings, dev, now=late_evening + timedelta(minutes=30))
    assert reminders(engine)[0].status == "created" and len(outbox(engine)) == sent_before
    deliver(engine, settings, dev, now=morning + timedelta(minutes=1))
    assert reminders(engine)[0].status == DELIVERED


def test_discreet_and_welsh(police, engine, settings, dev):
    police.send_ok("case.opened", REF, opened("domestic_abuse", victims=[
        victim(preferred_language="cy")]))
    deliver(engine, settings, dev)
    due = period(engine).due_at
    assert remind(engine, due + timedelta(hours=1)) == 1
    [row] = reminders(engine)
    assert (row.language, row.discreet) == ("cy", True)
    deliver(engine, settings, dev, now=due + timedelta(hours=1))
    expected = templates.render(templates.Content(REMINDER, {}, "cy", True), settings.base_url)
    [row] = reminders(engine)
    assert row.body == expected.text and "Nothing new" not in row.body
    assert row.body in [m.body for m in outbox(engine)]
    welsh = templates.render(templates.Content(REMINDER, {}, "cy", False), settings.base_url)
    english = templates.render(templates.Content(REMINDER, {}, "en", False), settings.base_url)
    assert english.text.startswith("Nothing new has happened")
    assert welsh.text != expected.text  # discretion changes the wording, in Welsh too


def test_several_workers_at_once_send_one_reminder(police, engine):
    police.send_ok("case.opened", REF, opened())
    now = period(engine).due_at + timedelta(hours=1)
    start = threading.Barrier(4)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            results.append(remind(engine, now))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(results) == [0, 0, 0, 1]
    assert len(reminders(engine)) == 1 and len(rows(engine, UpdateReminder)) == 1
    assert [t.reason for t in tasks(engine)].count("update-overdue") == 1


def test_the_worker_runs_the_reminders():
    names = [job.name for job in all_jobs(Settings(env="test", secret_key="x" * 40))]
    assert "update-reminders" in names


def test_a_later_reminder_that_cannot_be_texted_goes_by_email(police, engine, settings):
    """Reminders carry no event: the fallback is told apart by the row it copies."""
    from app.notifications.providers import TwilioSms
    from tests.fake_twilio import fake_twilio, settings_for

    police.send_ok("case.opened", REF, opened())
    due = period(engine).due_at
    with fake_twilio() as fake:
        twilio = settings_for(settings, fake)
        providers = {"sms": TwilioSms(twilio), "email": OutboxProvider(factory_of(engine))}
        for number in (1, 2):
            at = due + timedelta(days=28 * (number - 1), hours=1)
            assert remind(engine, at) == 1
            fake.fail_next = [400]  # the number does not work: each goes by email instead
            deliver(engine, twilio, providers, now=at)
    texts = rows(engine, template=REMINDER, channel="sms")
    emails = rows(engine, template=REMINDER, channel="email")
    assert [t.status for t in texts] == ["permanent-failure"] * 2
    assert [(e.fallback_of_pk, e.status) for e in emails] == [(t.id, DELIVERED) for t in texts]
