"""Messages and escalations end to end through the real app: a victim writes in the portal, the
police agency gets a request, the officer is emailed (nothing personal), replies in the staff
console or by a `message.replied` event; hand-overs; escalations resolved by the Hub; audits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.cases import repository as cases_repository
from app.cases import service as cases_service
from app.contact import outbox, repository, service
from app.contact.models import OFFICER, ContactMessage, ContactStep, Escalation, StaffEmail
from app.core.config import Settings
from app.core.db import make_sessionmaker
from app.core.i18n import translator
from app.notifications import dev_outbox
from app.notifications.models import Notification
from app.outbound.models import AgencyRequest
from app.staff.models import StaffAudit
from tests.agency_client import AgencyClient, recent
from tests.contact.helpers import (
    NEW_OIC_EMAIL,
    OIC_EMAIL,
    REF,
    SUPERVISOR_EMAIL,
    open_case_with_officers,
    the_case,
    the_victim,
)
from tests.portal.helpers import ALEX, CHRIS, case_ids, csrf_of, sign_in
from tests.staff_helpers import sign_in_staff

BODY = "Has anyone looked at the doorbell footage yet?"


def _victim_signed_in(client: Any, engine: Engine, police: AgencyClient) -> str:
    open_case_with_officers(police, victims=[ALEX])
    cases = sign_in(client, engine, REF, "1990-05-17", "+447700900123")
    [public_id] = case_ids(cases.text)
    return public_id


def _write(client: Any, public_id: str, body: str = BODY) -> Any:
    page = client.get(f"/cases/{public_id}/messages")
    assert page.status_code == 200
    return client.post(f"/cases/{public_id}/messages",
                       data={"csrf_token": csrf_of(page.text), "body": body},
                       follow_redirects=False)


def _count(session: Session, model: type) -> int:
    n = session.scalar(select(func.count()).select_from(model))
    session.commit()
    return n


def test_a_victim_writes_and_the_police_and_officer_hear_of_it(
        client: Any, engine: Engine, session: Session, police: AgencyClient,
        settings: Settings) -> None:
    public_id = _victim_signed_in(client, engine, police)
    response = _write(client, public_id)
    assert response.status_code == 303
    assert response.headers["location"] == f"/cases/{public_id}/messages?sent=1"
    page = client.get(response.headers["location"])
    assert "Your message has been sent" in page.text and BODY in page.text
    assert "DC Alex Alpha" in page.text  # who holds it now

    message = session.scalars(select(ContactMessage)).one()
    request = session.scalars(select(AgencyRequest)).one()
    assert (request.kind, request.request_id) == ("message", message.request_id)
    assert request.details["message"] == BODY
    email = session.scalars(select(StaffEmail)).one()
    assert email.to == OIC_EMAIL and email.template == "new_message"
    session.commit()

    # The worker sends it through the email provider (the dev outbox here).
    factory = make_sessionmaker(engine)
    assert outbox.StaffEmailDeliverer(settings)(factory) == 1
    with factory() as db:
        [sent] = dev_outbox.messages(db, OIC_EMAIL)
        row = db.get(StaffEmail, email.id)
        assert row is not None and row.status == "sent"
    case_pk = the_case(session).id
    session.commit()
    assert f"http://testserver/staff/cases/{case_pk}/messages" in sent.body
    for personal in ("doorbell", "Alex", "Testperson", REF, "Burglary"):
        assert personal not in sent.body and personal not in (sent.subject or "")


def test_bad_messages_are_refused_and_change_nothing(
        client: Any, engine: Engine, session: Session, police: AgencyClient) -> None:
    public_id = _victim_signed_in(client, engine, police)
    empty = _write(client, public_id, "   ")
    assert empty.status_code == 400 and "Enter your message" in empty.text
    assert "govuk-error-summary" in empty.text
    long = _write(client, public_id, "x" * 2001)
    assert long.status_code == 400 and "2000 characters or fewer" in long.text
    assert _count(session, ContactMessage) == 0 and _count(session, AgencyRequest) == 0


def test_the_officer_replies_in_the_staff_console(
        client: Any, engine: Engine, session: Session, police: AgencyClient) -> None:
    public_id = _victim_signed_in(client, engine, police)
    _write(client, public_id)
    case_pk = the_case(session).id
    victim_pk = the_victim(session).id
    session.commit()

    sign_in_staff(client, OIC_EMAIL, ("officer",), name="DC Alex Alpha")
    thread = client.get(f"/staff/cases/{case_pk}/messages")
    assert thread.status_code == 200 and BODY in thread.text
    reply = client.post(f"/staff/cases/{case_pk}/messages/{victim_pk}",
                        data={"csrf_token": csrf_of(thread.text), "body": "I will call you."},
                        follow_redirects=False)
    assert reply.status_code == 303
    audits = session.scalars(select(StaffAudit.what).where(StaffAudit.case_pk == case_pk)).all()
    assert "messages" in audits
    session.commit()

    # The victim is told there is a reply (the notification outbox's own wording).
    templates = session.scalars(select(Notification.template)
                                .where(Notification.victim_pk == victim_pk)).all()
    assert "message.replied" in templates
    session.commit()
    page = client.get(f"/cases/{public_id}/messages")
    assert "I will call you." in page.text and "DC Alex Alpha" in page.text
    shown = [o for o in service.obligations.obligations_as_json(session, the_case(session))
             if o["id"] == "reply-to-victim"]
    assert [o["status"] for o in shown] == ["met"]
    session.commit()


def test_an_officer_cannot_read_another_officers_case(
        client: Any, engine: Engine, session: Session, police: AgencyClient) -> None:
    public_id = _victim_signed_in(client, engine, police)
    _write(client, public_id)
    case_pk, victim_pk = the_case(session).id, the_victim(session).id
    session.commit()
    sign_in_staff(client, "someone.else@police.example.com", ("officer",))
    assert client.get(f"/staff/cases/{case_pk}/messages").status_code == 404
    home = client.get("/staff")
    refused = client.post(f"/staff/cases/{case_pk}/messages/{victim_pk}",
                          data={"csrf_token": csrf_of(home.text), "body": "Hi"})
    assert refused.status_code == 404
    assert _count(session, ContactMessage) == 1
    sign_in_staff(client, SUPERVISOR_EMAIL, ("supervisor",))
    assert client.get(f"/staff/cases/{case_pk}/messages").status_code == 200


def test_a_supervisor_lists_only_their_own_cases_escalations(
        client: Any, session: Session, police: AgencyClient) -> None:
    other_ref = "01/60002/26"
    open_case_with_officers(police)
    open_case_with_officers(police, ref=other_ref)
    police.send_ok("officer.assigned", other_ref, {
        "role": "supervisor", "name": "Cy Charlie", "rank": "DS",
        "email": "ds.charlie@police.example.com"}, occurred_at="2026-11-19T21:00:00Z")
    for ref in (REF, other_ref):
        service.escalate(session, the_case(session, ref), the_victim(session, ref), "victim",
                         {"reason": "something_wrong"})
    sign_in_staff(client, SUPERVISOR_EMAIL, ("supervisor",))
    own = client.get("/staff/escalations")
    assert own.status_code == 200 and REF in own.text and other_ref not in own.text
    sign_in_staff(client, "hub.worker@example.com", ("hub",), name="Hub Worker")
    every = client.get("/staff/escalations").text
    assert REF in every and other_ref in every


def _request_id(session: Session) -> str:
    request_id = session.scalars(select(ContactMessage.request_id)).one()
    session.commit()
    assert request_id
    return request_id


def test_the_police_reply_by_event(client: Any, engine: Engine, session: Session,
                                   police: AgencyClient) -> None:
    open_case_with_officers(police, victims=[ALEX, CHRIS | {"victim_ref": "V2"}])
    service.send_message(session, the_case(session), the_victim(session), "victim",
                         {"body": BODY})
    request_id = _request_id(session)
    data = {"request_id": request_id, "victim_ref": "V1", "message": "We have the footage.",
            "name": "DC Alex Alpha"}
    unknown = police.send("message.replied", REF, data | {"request_id": "nope"})
    assert unknown.status_code == 404
    wrong_victim = police.send("message.replied", REF, data | {"victim_ref": "V2"})
    assert wrong_victim.status_code == 422
    assert _count(session, ContactMessage) == 1  # refused events leave no trace
    police.send_ok("message.replied", REF, data, occurred_at=recent())  # after the message

    case, victim = the_case(session), the_victim(session)
    view = service.thread_view(session, case, victim)
    assert [m.author for m in view.messages] == ["victim", "agency"]
    assert not view.waiting
    request = session.scalars(select(AgencyRequest)).one()
    assert request.status == "completed"
    # The timeline entry is the author's only.
    entries = cases_repository.timeline(session, case.id, everyone=True)
    [entry] = [e for e in entries if e.type == "message.replied"]
    assert entry.victim_pk == victim.id
    assert cases_service.entry_text(entry, translator("en")) == \
        "DC Alex Alpha replied to your message: We have the footage."
    session.commit()


def test_a_hand_over_moves_open_threads_to_the_new_officer(
        client: Any, engine: Engine, session: Session, police: AgencyClient) -> None:
    public_id = _victim_signed_in(client, engine, police)
    _write(client, public_id)
    police.send_ok("officer.assigned", REF, {"role": "oic", "name": "Cam Charlie", "rank": "DC",
                                             "email": NEW_OIC_EMAIL},
                   occurred_at="2026-11-25T09:00:00Z")
    # An older assignment arriving late changes nothing.
    police.send_ok("officer.assigned", REF, {"role": "oic", "name": "Old Officer",
                                             "email": "old@police.example.com"},
                   occurred_at="2026-11-19T19:30:00Z")
    case = the_case(session)
    thread = repository.get_thread(session, case.id, the_victim(session).id)
    assert thread is not None
    officer = service.current_officer(session, case.id)
    assert officer is not None and thread.officer_pk == officer.id
    steps = session.scalars(select(ContactStep).where(ContactStep.kind == "handover")).all()
    assert [(s.holder, s.holder_name) for s in steps] == [(OFFICER, "DC Cam Charlie")]
    emails = session.scalars(select(StaffEmail.to).where(StaffEmail.template == "handover")
                             ).all()
    assert emails == [NEW_OIC_EMAIL]
    session.commit()
    page = client.get(f"/cases/{public_id}/messages")
    assert "Your case was handed over to DC Cam Charlie" in page.text
    assert "with DC Cam Charlie" in page.text
    sign_in_staff(client, NEW_OIC_EMAIL, ("officer",))
    assert client.get(f"/staff/cases/{case.id}/messages").status_code == 200
    sign_in_staff(client, OIC_EMAIL, ("officer",))
    assert client.get(f"/staff/cases/{case.id}/messages").status_code == 404


def _escalate(client: Any, public_id: str, **data: str) -> Any:
    page = client.get(f"/cases/{public_id}/escalate")
    assert page.status_code == 200
    return client.post(f"/cases/{public_id}/escalate",
                       data={"csrf_token": csrf_of(page.text)} | data, follow_redirects=False)


def test_escalate_resolve_and_answer(client: Any, engine: Engine, session: Session,
                                     police: AgencyClient) -> None:
    public_id = _victim_signed_in(client, engine, police)
    assert "Get help" in client.get(f"/cases/{public_id}").text  # the Contact panel
    missing = _escalate(client, public_id)
    assert missing.status_code == 400 and "Select what is wrong" in missing.text
    raised = _escalate(client, public_id, reason="something_wrong", details="My address is wrong")
    assert raised.status_code == 303
    page = client.get(raised.headers["location"])
    assert "We have sent this on" in page.text and "supervising officer" in page.text
    escalation = session.scalars(select(Escalation)).one()
    # Only random ids in the URL.
    assert raised.headers["location"] == \
        f"/cases/{public_id}/escalations/{escalation.public_id}?raised=1"
    assert session.scalars(select(StaffEmail.to)).all() == [SUPERVISOR_EMAIL]
    session.commit()

    sign_in_staff(client, "hub.worker@example.com", ("hub",), name="Hub Worker")
    queue = client.get("/staff/escalations")
    assert queue.status_code == 200 and REF in queue.text
    detail = client.get(f"/staff/escalations/{escalation.id}")
    assert "My address is wrong" in detail.text
    empty = client.post(f"/staff/escalations/{escalation.id}/resolve",
                        data={"csrf_token": csrf_of(detail.text), "note": " "})
    assert empty.status_code == 400
    done = client.post(f"/staff/escalations/{escalation.id}/resolve",
                       data={"csrf_token": csrf_of(detail.text),
                             "note": "We corrected your address."}, follow_redirects=False)
    assert done.status_code == 303
    again = client.post(f"/staff/escalations/{escalation.id}/resolve",
                        data={"csrf_token": csrf_of(detail.text), "note": "Twice"})
    assert again.status_code == 400
    assert repository.open_escalations(session) == []
    session.commit()

    shown = client.get(f"/cases/{public_id}/escalations/{escalation.public_id}")
    assert "We corrected your address." in shown.text and "Was this resolved?" in shown.text
    answer = client.post(f"/cases/{public_id}/escalations/{escalation.public_id}/feedback",
                         data={"csrf_token": csrf_of(shown.text), "answer": "yes"},
                         follow_redirects=False)
    assert answer.status_code == 303
    assert repository.feedback_counts(session) == {"yes": 1, "no": 0, "unanswered": 0}
    counts = [tuple(r) for r in repository.escalation_counts(session)]
    assert counts == [("something_wrong", "resolved", True, 1)]
    session.commit()


def test_i_feel_unsafe_shows_999_first(client: Any, engine: Engine, session: Session,
                                       police: AgencyClient) -> None:
    public_id = _victim_signed_in(client, engine, police)
    first = _escalate(client, public_id, reason="unsafe")
    assert first.status_code == 200 and "call 999" in first.text
    assert "govuk-warning-text" in first.text
    assert _count(session, Escalation) == 0
    sent = client.post(f"/cases/{public_id}/escalate",
                       data={"csrf_token": csrf_of(first.text), "reason": "unsafe",
                             "confirmed": "1"}, follow_redirects=False)
    assert sent.status_code == 303
    escalation = session.scalars(select(Escalation)).one()
    assert escalation.urgent and escalation.holder == "hub"
    session.commit()


def test_another_victims_escalation_is_not_found(client: Any, engine: Engine, session: Session,
                                                 police: AgencyClient) -> None:
    public_id = _victim_signed_in(client, engine, police)
    raised = _escalate(client, public_id, reason="cant_reach_officer")
    url = raised.headers["location"].split("?")[0]
    assert client.get(url).status_code == 200
    assert client.get(url[:-3] + "abc").status_code == 404
    client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/cases").text)})
    assert client.get(url, follow_redirects=False).status_code == 303  # signed out
