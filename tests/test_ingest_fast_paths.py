"""The shortcuts of the ingestion hot path (docs/performance.md) keep the contract's behaviour:
the insert is the duplicate check, obligations written with plain statements are what the ORM
then reads, and workers are woken only for messages due now. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import pytest
from sqlalchemy import func, select

from app.agencies.models import ReceivedEvent
from app.core.i18n import LONDON
from app.core.worker import WAKE_CHANNEL
from app.obligations import service
from app.obligations.models import Obligation
from tests import obligation_helpers
from tests.agency_client import opened, victim
from tests.obligation_helpers import event_pk, open_case, send, the_case, the_victim, utc

agencies = obligation_helpers.agencies  # fixture
clock = obligation_helpers.clock  # fixture

REF = "01/60606/26"


def _received(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(ReceivedEvent))


def test_a_retried_case_opened_is_a_duplicate_not_an_existing_case(police, engine):
    body = police.envelope("case.opened", REF, opened())
    police.send_ok("case.opened", REF, body["data"], webhook_id="open-1")
    before = _received(engine)
    again = police.send("case.opened", REF, body["data"], webhook_id="open-1",
                        occurred_at=body["occurred_at"])
    assert again.status_code == 200, again.text
    assert again.json() == {"status": "duplicate", "event_id": "open-1"}
    other_body = police.send("case.opened", REF, opened(offence_group="violence"),
                             webhook_id="open-1")
    assert other_body.status_code == 409
    assert other_body.json()["type"].endswith("webhook-id-reused")
    assert _received(engine) == before


def test_obligations_loaded_before_a_recompute_read_its_result(agencies, clock, session):
    open_case(agencies, clock, "2026-12-01")
    arrest = send(agencies.police, clock, "suspect.arrested", "2026-12-02T10:00", {})
    loaded = session.scalars(select(Obligation).where(
        Obligation.rule_id == "inform-police-decision")).one()
    assert loaded.met_at is None
    rows = service.record_informed(session, the_victim(session).id,
                                   event_pk(session, agencies.police, arrest),
                                   utc("2026-12-03T08:00"), "delivery_receipt")
    assert loaded.met_at == utc("2026-12-03T08:00") and loaded.status == "met"
    assert loaded in rows
    assert {r.rule_id for r in rows} == {"support-referral", "regular-update",
                                         "inform-police-decision"}
    session.commit()
    assert service.recompute(session, the_case(session)) == rows  # nothing changed


def _quiet_now() -> dict[str, str]:
    local = datetime.now(LONDON)
    return {"from": (local - timedelta(hours=1)).strftime("%H:%M"),
            "to": (local + timedelta(hours=2)).strftime("%H:%M")}


def test_workers_are_woken_only_for_messages_due_now(police, settings):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("NOTIFY is PostgreSQL's")
    url = settings.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {WAKE_CHANNEL}")
        police.send_ok("case.opened", REF,
                       opened(victims=[victim(contact={"quiet_hours": _quiet_now()})]))
        assert list(listener.notifies(timeout=1.0)) == []  # held until quiet hours end
        police.send_ok("case.opened", "01/60607/26", opened())
        assert len(list(listener.notifies(timeout=1.0))) == 1
