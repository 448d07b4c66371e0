"""A victim who reads an update in the portal has been informed of it: the case page, the
timeline poll and an update's own page record `portal_view` evidence for the events shown, so
the Victims' Code "victim informed" obligations are met then, even with SMS and email off.
Recorded once per victim and event; never for an entry the victim may not see; a
representative's view counts for the victim they act for. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update

from app.cases.models import Case, TimelineEntry, Victim
from app.core.db import make_sessionmaker, utcnow
from app.notifications import service as notifications
from app.notifications.models import Notification
from app.notifications.providers import OutboxProvider
from app.obligations import service as obligations
from app.obligations.models import Obligation, ObligationEvidence
from app.portal import service as portal
from tests.agency_client import AgencyClient, opened
from tests.notify_helpers import deliver, factory_of, rows
from tests.portal.helpers import ALEX, SAM, case_ids, csrf_of, sign_in

REF = "01/20501/26"
ALEX_MOBILE, JO_EMAIL = "+447700900123", "jo.e@example.com"
POLICE_DECISION = "The police must tell you about their decision by"


def ago(**delta: float) -> str:
    return (utcnow() - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_case(a: dict[str, AgencyClient], victims: list[dict[str, Any]], days_ago: int) -> None:
    at = ago(days=days_ago)
    a["police"].send_ok("case.opened", REF, opened(victims=victims, reported_at=at),
                        occurred_at=at)
    for linker, target in (("police", "cps-london"), ("police", "wcu-london-north"),
                           ("cps", "hmcts-snaresbrook")):
        a[linker].send_ok("case.agency_linked", REF, {"agency_id": target}, occurred_at=at)


def the(engine, model: Any, **where: Any) -> Any:
    [row] = rows(engine, model, **where)
    return row


def victim_pk(engine, ref: str) -> int:
    return the(engine, Victim, victim_ref=ref).id


def entry_of(engine, event_type: str) -> TimelineEntry:
    return the(engine, TimelineEntry, type=event_type)


def sms_and_email_off(engine, victim: int) -> None:
    with make_sessionmaker(engine)() as db:
        notifications.save_preferences(db, victim, sms=False, email=False, language="en",
                                       quiet_from=None, quiet_to=None, discreet=False,
                                       update_interval_days=28)


def views(engine, victim: int | None = None) -> list[ObligationEvidence]:
    found = rows(engine, ObligationEvidence, source="portal_view")
    return [e for e in found if victim is None or e.victim_pk == victim]


def obligation(engine, rule_id: str, victim: int, event_pk: int) -> Obligation:
    return the(engine, Obligation, rule_id=rule_id, victim_pk=victim, event_pk=event_pk)


class Statements:
    """Every statement the app's engine runs while in use."""

    def __init__(self, engine) -> None:
        self.engine, self.seen = engine, []

    def _record(self, _conn, _cursor, statement, *_args) -> None:
        self.seen.append(" ".join(statement.split()))

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def writes_to_obligations(statements: list[str]) -> list[str]:
    return [s for s in statements if "FOR UPDATE" in s.upper() or (
        s.split()[0].upper() in ("INSERT", "UPDATE", "DELETE") and "obligation" in s)]


def test_police_decision_is_met_when_the_victim_reads_it_in_the_portal(
        client, app, engine, settings, agencies):
    open_case(agencies, [ALEX], days_ago=20)
    alex = victim_pk(engine, "V1")
    sms_and_email_off(engine, alex)
    agencies["police"].send_ok("investigation.closed", REF, {
        "outcome": "no_further_action", "vrr_eligible": True}, occurred_at=ago(days=15))
    dev = OutboxProvider(factory_of(engine))
    deliver(engine, settings, {"sms": dev, "email": dev})
    decision = entry_of(engine, "investigation.closed").event_pk
    assert not rows(engine, Notification, event_pk=decision)  # nothing can reach Alex
    informed = obligation(engine, "inform-police-decision", alex, decision)
    assert informed.met_at is None and informed.due_at < utcnow()
    assert obligations.effective_status(informed, utcnow()) == "breached"
    assert obligation(engine, "vrr-police-window", alex, decision).due_at is None

    [public_id] = case_ids(sign_in(client, engine, REF, "1990-05-17", ALEX_MOBILE).text)
    assert not views(engine)  # the list of cases shows no timeline
    before = utcnow()
    page = client.get(f"/cases/{public_id}")
    after = utcnow()
    assert page.status_code == 200 and POLICE_DECISION in page.text  # as it was when shown

    [view] = views(engine)
    assert (view.victim_pk, view.event_pk, view.kind) == (alex, decision, "informed")
    assert before <= view.at <= after
    informed = obligation(engine, "inform-police-decision", alex, decision)
    assert (informed.status, informed.met_at) == ("met_late", view.at)
    assert informed.evidence == "informed: portal_view"
    window = obligation(engine, "vrr-police-window", alex, decision)
    assert window.trigger_at == view.at and window.due_at is not None  # the 3 months run

    # Reading it again changes nothing and writes nothing.
    with Statements(app.state.engine) as statements:
        again = client.get(f"/cases/{public_id}")
    assert again.status_code == 200 and POLICE_DECISION not in again.text
    assert writes_to_obligations(statements) == []
    assert sum("obligation_evidence" in s for s in statements) == 1  # the one check
    assert [(v.id, v.at) for v in views(engine)] == [(view.id, view.at)]
    assert obligation(engine, "inform-police-decision", alex, decision).updated_at == \
        informed.updated_at


def test_recording_does_not_change_the_page(client, engine, agencies, monkeypatch):
    open_case(agencies, [ALEX], days_ago=20)
    agencies["police"].send_ok("suspect.arrested", REF, {}, occurred_at=ago(days=1))
    [public_id] = case_ids(sign_in(client, engine, REF, "1990-05-17", ALEX_MOBILE).text)
    with monkeypatch.context() as m:
        m.setattr(portal, "record_entries_shown", lambda *_args, **_kw: 0)
        unrecorded = client.get(f"/cases/{public_id}")
    assert not views(engine)
    recorded = client.get(f"/cases/{public_id}")
    assert len(views(engine)) == 1
    assert recorded.content == unrecorded.content
    assert POLICE_DECISION in recorded.text
    assert POLICE_DECISION not in client.get(f"/cases/{public_id}").text  # now met


def test_timeline_poll_and_update_page_record_what_they_show(client, engine, settings,
                                                              agencies):
    open_case(agencies, [ALEX], days_ago=2)
    alex = victim_pk(engine, "V1")
    sms_and_email_off(engine, alex)
    [public_id] = case_ids(sign_in(client, engine, REF, "1990-05-17", ALEX_MOBILE).text)
    html = client.get(f"/cases/{public_id}").text
    assert not views(engine)  # nothing shown was owed to Alex as "informed"
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf_of(html)}
    seen = html.split("timeline?seen=")[1].split('"')[0]

    agencies["police"].send_ok("suspect.arrested", REF, {}, occurred_at=ago(hours=1))
    arrest = entry_of(engine, "suspect.arrested").event_pk
    assert obligation(engine, "inform-police-decision", alex, arrest).status == "open"
    before = utcnow()
    fresh = client.get(f"/cases/{public_id}/timeline?seen={seen}", headers=headers)
    assert fresh.status_code == 200 and "arrested" in fresh.text
    [view] = views(engine)
    assert view.event_pk == arrest and before <= view.at <= utcnow()
    met = obligation(engine, "inform-police-decision", alex, arrest)
    assert (met.status, met.met_at) == ("met", view.at)
    latest = fresh.text.split("timeline?seen=")[1].split('"')[0]
    assert client.get(f"/cases/{public_id}/timeline?seen={latest}",
                      headers=headers).status_code == 204
    assert len(views(engine)) == 1

    # An update opened on its own page (a link in a message) counts too.
    agencies["police"].send_ok("suspect.bailed", REF, {"bail_conditions": ["Not to contact"]},
                               occurred_at=ago(minutes=30))
    bail = entry_of(engine, "suspect.bailed")
    entry_id = portal.entry_public_id(settings.secret_key, bail.id)
    assert client.get(f"/cases/{public_id}/updates/{entry_id}").status_code == 200
    assert [v.event_pk for v in views(engine)] == [arrest, bail.event_pk]
    assert obligation(engine, "inform-police-decision", alex, bail.event_pk).status == "met"


def test_an_update_page_records_only_the_update_it_shows(client, engine, settings, agencies):
    """The events still waiting for a view are found for the whole case; only those behind the
    entries shown are recorded."""
    open_case(agencies, [ALEX], days_ago=2)
    alex = victim_pk(engine, "V1")
    sms_and_email_off(engine, alex)
    [public_id] = case_ids(sign_in(client, engine, REF, "1990-05-17", ALEX_MOBILE).text)
    agencies["police"].send_ok("suspect.arrested", REF, {}, occurred_at=ago(hours=2))
    agencies["police"].send_ok("suspect.bailed", REF, {"bail_conditions": ["Not to contact"]},
                               occurred_at=ago(hours=1))
    arrest, bail = entry_of(engine, "suspect.arrested"), entry_of(engine, "suspect.bailed")
    for entry in (bail, arrest):
        assert obligation(engine, "inform-police-decision", alex, entry.event_pk).status == "open"

    bail_page = portal.entry_public_id(settings.secret_key, bail.id)
    assert client.get(f"/cases/{public_id}/updates/{bail_page}").status_code == 200
    assert [v.event_pk for v in views(engine)] == [bail.event_pk]
    assert obligation(engine, "inform-police-decision", alex, arrest.event_pk).status == "open"
    with make_sessionmaker(engine)() as db:
        case = db.scalars(select(Case).where(Case.crime_reference == REF)).one()
        assert obligations.events_awaiting_portal_view(
            db, case.id, alex, [bail.id, arrest.id]) == [arrest.event_pk]
        assert obligations.events_awaiting_portal_view(db, case.id, alex, [bail.id]) == []
    client.get(f"/cases/{public_id}")
    assert sorted(v.event_pk for v in views(engine)) == sorted([arrest.event_pk, bail.event_pk])


def test_only_entries_the_victim_may_see_count_and_a_representative_counts_for_the_child(
        client, engine, settings, agencies):
    open_case(agencies, [ALEX, SAM], days_ago=2)
    alex, sam = victim_pk(engine, "V1"), victim_pk(engine, "V2")
    agencies["court"].send_ok("hearing.scheduled", REF, {
        "hearing_id": "H-1", "hearing_type": "trial", "court": "Snaresbrook Crown Court",
        "address": "75 Hollybush Hill, London E11 1QW",
        "starts_at": (utcnow() + timedelta(days=40)).strftime("%Y-%m-%dT10:00:00Z")},
        occurred_at=ago(hours=3))
    agencies["wcu"].send_ok("witness.required", REF, {"victim_ref": "V2", "hearing_id": "H-1"},
                            occurred_at=ago(hours=2))
    hearing = entry_of(engine, "hearing.scheduled").event_pk
    witness = entry_of(engine, "witness.required")
    assert witness.victim_pk == sam

    [public_id] = case_ids(sign_in(client, engine, REF, "1990-05-17", ALEX_MOBILE).text)
    client.get(f"/cases/{public_id}")
    assert [(v.victim_pk, v.event_pk) for v in views(engine)] == [(alex, hearing)]
    sams_entry = portal.entry_public_id(settings.secret_key, witness.id)
    assert client.get(f"/cases/{public_id}/updates/{sams_entry}").status_code == 404
    # Even handed Sam's entries directly, nothing is recorded for Alex: not Sam's own event,
    # nor one that Alex is owed but whose entry (here made Sam's alone) Alex does not see.
    agencies["court"].send_ok("hearing.changed", REF, {
        "hearing_id": "H-1", "starts_at": (utcnow() + timedelta(days=41)).strftime(
            "%Y-%m-%dT10:00:00Z")}, occurred_at=ago(hours=1))
    changed = entry_of(engine, "hearing.changed")
    with make_sessionmaker(engine)() as db:
        db.execute(update(TimelineEntry).where(TimelineEntry.id == changed.id)
                   .values(victim_pk=sam))
        db.commit()
        case = db.scalars(select(Case).where(Case.crime_reference == REF)).one()
        access = portal.Access(case, db.get(Victim, alex), "victim", public_id)
        assert portal.record_entries_shown(db, access, [witness.id, changed.id]) == 0
    assert obligation(engine, "inform-hearing", alex, changed.event_pk).met_at is None
    assert views(engine, sam) == [] and len(views(engine)) == 1
    assert obligation(engine, "inform-witness-required", sam, witness.event_pk).met_at is None

    client.cookies.clear()
    page = sign_in(client, engine, REF, "2011-02-03", JO_EMAIL, role="representative",
                   channel="email")
    [public_id] = case_ids(page.text)
    client.get(f"/cases/{public_id}")
    assert sorted(v.event_pk for v in views(engine, sam)) == sorted(
        [hearing, witness.event_pk, changed.event_pk])
    for rule_id, event_pk in (("inform-witness-required", witness.event_pk),
                              ("inform-hearing", hearing)):
        assert obligation(engine, rule_id, sam, event_pk).status == "met"
    assert len(views(engine, alex)) == 1


def test_record_portal_views_keeps_the_earliest_and_checks_the_case(client, engine, agencies):
    open_case(agencies, [ALEX], days_ago=2)
    agencies["police"].send_ok("suspect.arrested", REF, {}, occurred_at=ago(hours=2))
    alex = victim_pk(engine, "V1")
    arrest = entry_of(engine, "suspect.arrested").event_pk
    first = utcnow() - timedelta(minutes=30)
    with make_sessionmaker(engine)() as db:
        assert obligations.record_portal_views(db, alex, [arrest], first) == 1
        assert obligations.record_portal_views(db, alex, [arrest], utcnow()) == 0
        assert obligations.record_portal_views(db, alex, [arrest, arrest], first) == 0
        earlier = first - timedelta(minutes=5)
        assert obligations.record_portal_views(db, alex, [arrest], earlier) == 1
        db.commit()
    [view] = views(engine)
    assert view.at == earlier
    assert obligation(engine, "inform-police-decision", alex, arrest).met_at == earlier
    with make_sessionmaker(engine)() as db, pytest.raises(obligations.ObligationError):
        obligations.record_portal_views(db, alex, [arrest + 1000], utcnow())
