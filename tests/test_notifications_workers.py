"""Worker processes (`tmc worker`) against the local Twilio-compatible server, with real status
callbacks to the app on a real socket:

- a worker killed with SIGKILL mid-run loses nothing: after a restart every notification is
  delivered, and any duplicate is a message that was in flight when it died (each worker thread
  has at most one chunk of `SEND_CONCURRENCY` sends in flight);
- three workers on PostgreSQL never send a notification twice;
- SIGTERM stops a worker cleanly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from app.core.db import make_sessionmaker
from app.notifications.models import DELIVERED, Notification, NotificationAttempt
from app.notifications.service import SEND_CONCURRENCY
from tests.agency_client import opened
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, fake_twilio, wait_for
from tests.notify_helpers import serve_app

ROOT = Path(__file__).resolve().parents[1]
REF = "01/88888/26"
CONCURRENCY = 4


def queue_notifications(engine, police, n: int) -> None:
    """n messages to n different numbers (no digests, no carrier limits in play)."""
    police.send_ok("case.opened", REF, opened(victims=[{
        "victim_ref": "V1", "given_name": "Alex", "family_name": "Testperson",
        "contact": {"sms_allowed": False, "email_allowed": False}}]))
    with make_sessionmaker(engine)() as session:
        victim_pk = session.execute(text("SELECT min(id) FROM victim")).scalar_one()
        case_pk = session.execute(text('SELECT min(id) FROM "case"')).scalar_one()
        now = datetime.now(UTC)
        session.add_all(Notification(
            case_pk=case_pk, victim_pk=victim_pk, recipient="victim", channel="sms",
            to=f"+447700900{i:03d}", template="investigation.update", language="en",
            discreet=False, params={}, status="created", next_attempt_at=now, created_at=now)
            for i in range(n))
        session.commit()


def worker_env(settings, base_url: str, twilio_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMC_")}
    return env | {
        "TMC_ENV": "test", "TMC_DATABASE_URL": settings.database_url,
        "TMC_SECRET_KEY": settings.secret_key, "TMC_BASE_URL": base_url,
        "TMC_SMS_BACKEND": "twilio", "TMC_TWILIO_API_BASE_URL": twilio_url,
        "TMC_TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TMC_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TMC_TWILIO_FROM_NUMBER": FROM_NUMBER, "TMC_NOTIFICATION_LEASE_SECONDS": "3",
        "TMC_NOTIFICATION_DIGEST_SECONDS": "0", "TMC_SMS_HOURLY_LIMIT": "1000",
    }


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    tmc = Path(sys.executable).with_name("tmc")
    command = [str(tmc)] if tmc.exists() else [sys.executable, "-m", "app.cli"]
    with log.open("ab") as sink:  # a file, not a pipe nobody reads (a full pipe blocks)
        return subprocess.Popen([*command, "worker", "--concurrency", str(CONCURRENCY)],
                                env=env, cwd=ROOT, stdout=sink, stderr=sink)


def delivered(engine) -> int:
    with make_sessionmaker(engine)() as session:
        return session.scalar(select(func.count()).select_from(Notification)
                              .where(Notification.status == DELIVERED)) or 0


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


@pytest.fixture
def twilio_app_settings(settings):
    return settings.model_copy(update={
        "sms_backend": "twilio", "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN, "twilio_from_number": FROM_NUMBER})


@pytest.mark.slow
def test_sigkilled_worker_loses_nothing(police, engine, twilio_app_settings, tmp_path):
    total = 1000
    queue_notifications(engine, police, total)
    with fake_twilio(callbacks=["sent", "delivered"]) as fake, \
            serve_app(twilio_app_settings) as (base_url, _):
        env = worker_env(twilio_app_settings, base_url, fake.base_url)
        log = tmp_path / "worker.log"
        first = start_worker(env, log)
        assert wait_for(lambda: len(fake.received) >= 300, timeout=180), log.read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        sent_at_kill = len(fake.received)
        assert sent_at_kill < total, "the worker finished before it could be killed"
        second = start_worker(env, log)
        try:
            assert wait_for(lambda: delivered(engine) == total, timeout=180), \
                f"{delivered(engine)} of {total} delivered"
        finally:
            assert stop(second) == 0  # SIGTERM: a clean stop
        per_number = fake.by_to()
        with make_sessionmaker(engine)() as session:
            abandoned = set(session.scalars(
                select(NotificationAttempt.notification_pk)
                .where(NotificationAttempt.outcome == "abandoned")))
            by_to = {n.to: n.id for n in session.scalars(select(Notification))}
    assert set(per_number) == set(by_to), "every notification reached the provider"
    duplicates = {to: len(items) - 1 for to, items in per_number.items() if len(items) > 1}
    print(f"\ncrash test: {total} notifications, killed after {sent_at_kill} sends, "
          f"{sum(duplicates.values())} duplicate(s), {len(abandoned)} abandoned attempt(s)")
    # A duplicate can only be a message in flight when the worker died: one chunk of sends per
    # thread at most (on SQLite, one send), and its row has the attempt the sweep found
    # abandoned.
    assert sum(duplicates.values()) <= CONCURRENCY * SEND_CONCURRENCY
    assert all(by_to[to] in abandoned for to in duplicates)


@pytest.mark.slow
def test_three_workers_on_postgresql_never_send_twice(database_url, police, engine,
                                                      twilio_app_settings, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("several worker processes share work on PostgreSQL")
    total = 900
    queue_notifications(engine, police, total)
    with fake_twilio(callbacks=["delivered"]) as fake, \
            serve_app(twilio_app_settings) as (base_url, _):
        env = worker_env(twilio_app_settings, base_url, fake.base_url)
        workers = [start_worker(env, tmp_path / f"worker-{n}.log") for n in range(3)]
        try:
            assert wait_for(lambda: delivered(engine) == total, timeout=180)
        finally:
            codes = [stop(w) for w in workers]
        time.sleep(0.2)
        counts = {to: len(items) for to, items in fake.by_to().items()}
        with make_sessionmaker(engine)() as session:
            workers_used = set(session.scalars(
                select(func.substr(NotificationAttempt.worker, 1, 40))))
    assert codes == [0, 0, 0]
    assert len(counts) == total and set(counts.values()) == {1}
    pids = {w.split(":")[1] for w in workers_used}
    assert len(pids) == 3, "all three workers took a share"
