"""The Hub's queues (sorted by deadline) and agency management for admins (audited)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from app.agencies import repository as agencies_repository
from app.agencies.models import Agency, ReceivedEvent
from app.agencies.service import active_secrets
from app.cases.models import Case, Victim
from app.core.db import utcnow
from app.notifications.models import ContactTask, SafetyAlert
from app.staff.models import StaffAudit
from tests.event_loop_probe import statements_on_an_event_loop
from tests.staff.cases import REF_A, REF_B, two_cases
from tests.staff_helpers import sign_in_staff, staff_csrf


def _case_and_victim(session, reference: str) -> tuple[int, int, list[int]]:
    case_pk = session.scalar(select(Case.id).where(Case.crime_reference == reference))
    victim_pk = session.scalar(select(Victim.id).where(Victim.case_pk == case_pk))
    events = session.scalars(select(ReceivedEvent.id).where(ReceivedEvent.case_pk == case_pk)
                             .order_by(ReceivedEvent.id)).all()
    return case_pk, victim_pk, list(events)


def test_hub_queues_sorted_by_deadline(client, session, police):
    two_cases(police)
    now = utcnow()
    a, va, ea = _case_and_victim(session, REF_A)
    b, vb, eb = _case_and_victim(session, REF_B)
    session.add_all([
        SafetyAlert(case_pk=a, victim_pk=va, event_pk=ea[0], token="t1",
                    due_at=now + timedelta(hours=2)),
        SafetyAlert(case_pk=b, victim_pk=vb, event_pk=eb[0], token="t2",
                    due_at=now + timedelta(hours=1)),
        SafetyAlert(case_pk=b, victim_pk=vb, event_pk=eb[1], token="t3", due_at=now,
                    acknowledged_at=now, acknowledged_by="link"),
        ContactTask(case_pk=a, victim_pk=va, reason="undeliverable",
                    due_at=now + timedelta(hours=5)),
        ContactTask(case_pk=b, victim_pk=vb, reason="sms-opt-out",
                    due_at=now + timedelta(hours=3)),
        ContactTask(case_pk=b, victim_pk=vb, reason="undeliverable", due_at=now,
                    resolved_at=now),
    ])
    session.commit()
    sign_in_staff(client, "hub.person@example.com", roles=("hub",))
    page = client.get("/staff/hub")
    assert page.status_code == 200
    sections = {m.group(1): m.group(2) for m in re.finditer(
        r'<h2 class="govuk-heading-m" id="([a-z-]+)">(.*?)(?=<h2|</main>)', page.text, re.S)}
    alerts = sections["safety-alerts"]
    assert alerts.index(REF_B) < alerts.index(REF_A)  # the earlier deadline first
    assert alerts.count("/staff/cases/") == 2  # the acknowledged one is not waiting
    tasks = sections["undeliverable"]
    assert tasks.index("The victim replied STOP") < tasks.index("No message could reach")
    assert tasks.count("/staff/cases/") == 2
    assert "Nothing waiting." in sections["escalations"]
    assert "Nothing waiting." in sections["exhausted-webhooks"]
    row = session.scalars(select(StaffAudit)).one()
    assert (row.what, row.detail) == ("hub-queues", "4 items")


def test_an_admin_adds_an_agency_and_sees_its_secret_once(client, session, settings):
    sign_in_staff(client, "admin@example.com", roles=("admin",))
    token = staff_csrf(client)
    with statements_on_an_event_loop() as on_loop:
        bad = client.post("/staff/agencies", data={
            "csrf_token": token, "agency_id": "Bad Id", "kind": "wizard", "name": "",
            "endpoint_url": "ftp://x"})
    assert bad.status_code == 400
    assert on_loop == []  # the form's page with its errors was read off the event loop
    for field in ("agency_id", "kind", "name", "endpoint_url"):
        assert f'href="#{field}"' in bad.text
    assert session.scalars(select(Agency)).all() == []
    session.commit()

    added = client.post("/staff/agencies", data={
        "csrf_token": token, "agency_id": "kent-police", "kind": "police",
        "name": "Kent Police", "endpoint_url": "https://kent.example/tmc"})
    assert added.status_code == 200 and added.headers["cache-control"] == "no-store"
    secret = re.search(r'<code class="tmc-wrap" id="secret">([^<]+)</code>', added.text)
    assert secret and secret.group(1).startswith("whsec_")
    session.commit()
    agency = agencies_repository.get_agency_with_active_secrets(session, "kent-police")
    assert active_secrets(agency, settings.secret_key) == [secret.group(1)]
    session.commit()
    listing = client.get("/staff/agencies")
    assert "kent-police" in listing.text and secret.group(1) not in listing.text
    again = client.post("/staff/agencies", data={
        "csrf_token": token, "agency_id": "kent-police", "kind": "police", "name": "Kent"})
    assert again.status_code == 400 and "already exists" in again.text
    Webhook(secret.group(1))  # a valid standardwebhooks secret
    audits = session.scalars(select(StaffAudit.what)).all()
    assert audits == ["agency.add"]


def test_rotate_retire_and_enable(client, session, settings, police):
    sign_in_staff(client, "admin@example.com", roles=("admin",))
    token = staff_csrf(client)
    rotated = client.post("/staff/agencies/met-police/rotate", data={"csrf_token": token})
    new_secret = re.search(r'id="secret">([^<]+)<', rotated.text).group(1)
    session.commit()
    agency = agencies_repository.get_agency_with_active_secrets(session, "met-police")
    assert set(active_secrets(agency, settings.secret_key)) == {police.secret, new_secret}
    session.commit()
    done = client.post("/staff/agencies/met-police/retire", data={"csrf_token": token},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/staff/agencies?done=retired"
    session.expire_all()
    agency = agencies_repository.get_agency_with_active_secrets(session, "met-police")
    assert active_secrets(agency, settings.secret_key) == [new_secret]
    agency = session.get(Agency, agency.id)
    agency.endpoint_disabled_at = utcnow()
    session.commit()
    assert "Enable the endpoint again" in client.get("/staff/agencies").text
    client.post("/staff/agencies/met-police/enable", data={"csrf_token": token})
    session.expire_all()
    assert session.get(Agency, agency.id).endpoint_disabled_at is None
    session.commit()
    assert client.post("/staff/agencies/nobody/rotate",
                       data={"csrf_token": token}).status_code == 404
    forged = client.post("/staff/agencies/met-police/rotate", data={"csrf_token": "x"})
    assert forged.status_code == 403
    assert session.scalars(select(StaffAudit.what).order_by(StaffAudit.id)).all() == [
        "agency.rotate-secret", "agency.retire-secrets", "agency.enable-endpoint"]


def test_enabling_an_endpoint_sends_what_was_parked(client, engine, session, settings,
                                                    registry, police):
    from app.core.db import make_sessionmaker
    from app.outbound.models import OutboundWebhook
    from app.outbound.service import Deliverer
    from tests.entitlements.outbound_helpers import (
        case_with_cps,
        set_endpoint,
        start_clock,
        submit,
    )
    from tests.webhook_receiver import Receiver

    cps = case_with_cps(registry, police)
    with Receiver(cps.secret, status=410) as receiver:
        set_endpoint(engine, "cps-london", receiver.url)
        submit(engine)
        Deliverer(settings, clock=start_clock())(make_sessionmaker(engine))  # 410: disabled
        submit(engine, kind="vps", details={"statement": "..."})  # parked at once
        sign_in_staff(client, "admin@example.com", roles=("admin",))
        hub = client.get("/staff/hub").text
        assert hub.count("to CPS London: endpoint-disabled") == 2
        receiver.status = 204
        enabled = client.post("/staff/agencies/cps-london/enable",
                              data={"csrf_token": staff_csrf(client)}, follow_redirects=False)
        assert enabled.status_code == 303
        assert Deliverer(settings, clock=start_clock())(make_sessionmaker(engine)) == 2
    assert len(receiver.accepted_ids) == 2
    assert set(session.scalars(select(OutboundWebhook.status))) == {"delivered"}
    assert "endpoint-disabled" not in client.get("/staff/hub").text
    audited = session.scalars(select(StaffAudit).where(StaffAudit.action == "write")).all()
    assert [(a.what, a.detail) for a in audited] == [
        ("agency.enable-endpoint", "cps-london: 2 deliveries queued again")]


def test_an_agency_name_with_a_nul_character_is_stored_without_it(client, session):
    sign_in_staff(client, "admin@example.com", roles=("admin",))
    added = client.post("/staff/agencies", data={
        "csrf_token": staff_csrf(client), "agency_id": "kent-police", "kind": "police",
        "name": "Kent\x00 Police"})
    assert added.status_code == 200
    assert session.scalars(select(Agency.name)).all() == ["Kent Police"]
