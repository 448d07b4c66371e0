"""The reply service level and the escalation ladders, across weekends and bank holidays.

Dates: Christmas 2026 falls on a Friday, so Monday 28 December is the Boxing Day substitute bank
holiday, and Friday 1 January 2027 is New Year's Day (the `holidays` package says so; these
tests check the dates against it rather than trusting the comments)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.contact import repository, service
from app.contact.models import HUB, OFFICER, SUPERVISOR, ContactStep, StaffEmail
from app.obligations import calendar
from app.obligations import service as obligations
from app.obligations.rules import rule
from tests.agency_client import AgencyClient
from tests.contact.helpers import (
    SUPERVISOR_EMAIL,
    end_of,
    london,
    open_case_with_officers,
    the_case,
    the_victim,
)

CHRISTMAS_EVE = "2026-12-24T10:00"  # a Thursday


def test_the_dates_are_the_bank_holidays_we_think() -> None:
    assert calendar.is_bank_holiday(date(2026, 12, 25))
    assert calendar.is_bank_holiday(date(2026, 12, 28))  # Boxing Day, substitute
    assert calendar.is_bank_holiday(date(2027, 1, 1))
    assert not calendar.is_working_day(date(2026, 12, 26))


def test_the_reply_ladder_comes_from_the_rule() -> None:
    ladder = service.LADDERS[service.REPLY]
    reply = rule("reply-to-victim")
    assert [r.holder for r in ladder] == [OFFICER, SUPERVISOR, HUB]
    assert ladder[0].until == reply.standard == reply.escalations[0][0]
    assert ladder[1].until == reply.escalations[1][0]
    assert ladder[2].until.amount == reply.escalations[1][0].amount + service.HUB_REPLY_DAYS


def _send(session: Session, at: str, body: str = "Any news about my bike?") -> None:
    case, victim = the_case(session), the_victim(session)
    service.send_message(session, case, victim, "victim", {"body": body}, now=london(at))


def _thread(session: Session):
    session.expire_all()
    thread = repository.get_thread(session, the_case(session).id, the_victim(session).id)
    assert thread is not None
    return thread


def test_reply_deadlines_skip_christmas_weekend_and_new_year(
        session: Session, police: AgencyClient) -> None:
    open_case_with_officers(police)
    _send(session, CHRISTMAS_EVE)
    thread = _thread(session)
    # Thu 24: working; Fri 25, Sat, Sun, Mon 28 (substitute) are not: Tue 29 is day 1.
    assert (thread.holder, thread.due_at) == (OFFICER, end_of("2026-12-30"))
    reply = [o for o in obligations.obligations_as_json(session, the_case(session))
             if o["id"] == "reply-to-victim"]
    assert len(reply) == 1 and reply[0]["due_at"] == end_of("2026-12-30").isoformat()

    # Nothing moves until the officer's time is up.
    assert service.climb_ladders(session, end_of("2026-12-30")) == 0
    just_after = end_of("2026-12-30") + timedelta(microseconds=1)
    assert service.climb_ladders(session, just_after) == 1
    thread = _thread(session)
    assert (thread.holder, thread.due_at) == (SUPERVISOR, end_of("2026-12-31"))
    assert service.climb_ladders(session, just_after + timedelta(hours=5)) == 0  # moved once
    emails = session.scalars(select(StaffEmail.to).where(
        StaffEmail.template == "message_overdue")).all()
    assert emails == [SUPERVISOR_EMAIL]  # the supervisor is told it is now theirs

    # The supervisor has one more working day; New Year's Day and the weekend follow.
    assert service.climb_ladders(session, london("2027-01-01T09:00")) == 1
    thread = _thread(session)
    assert (thread.holder, thread.due_at) == (HUB, end_of("2027-01-04"))
    [hub] = repository.open_escalations(session)
    assert (hub.reason, hub.holder, hub.due_at) == ("no_reply", HUB, end_of("2027-01-04"))
    # The Hub is the top of the ladder: nothing moves further, however late.
    assert service.climb_ladders(session, london("2027-02-01T09:00")) == 0
    steps = session.query(ContactStep).filter(ContactStep.thread_pk == thread.id).all()
    assert [(s.kind, s.holder) for s in steps] == [
        ("raised", OFFICER), ("moved", SUPERVISOR), ("moved", HUB)]
    # Each step happened when the deadline passed, not when the worker happened to run.
    assert steps[2].at == end_of("2026-12-31")
    session.commit()


def test_a_message_on_a_saturday_counts_from_monday(session: Session,
                                                    police: AgencyClient) -> None:
    open_case_with_officers(police)
    _send(session, "2026-11-28T15:00")  # Saturday
    # As if sent on Monday 30 November: two working days after it is Wednesday.
    assert _thread(session).due_at == end_of("2026-12-02")
    session.commit()


def test_a_reply_meets_the_service_level_and_ends_the_wait(session: Session,
                                                           police: AgencyClient) -> None:
    open_case_with_officers(police)
    _send(session, CHRISTMAS_EVE)
    _send(session, "2026-12-29T08:00", "Hello again")  # still the same wait
    assert _thread(session).due_at == end_of("2026-12-30")
    case, victim = the_case(session), the_victim(session)
    service.staff_reply(session, case, victim, author="officer", name="DC Alex Alpha",
                        email="dc.alpha@police.example.com", values={"body": "On it."},
                        now=london("2026-12-30T16:00"))
    thread = _thread(session)
    assert thread.waiting_since is None and thread.holder is None
    shown = [o for o in obligations.obligations_as_json(session, the_case(session),
                                                         london("2027-01-10T00:00"))
             if o["id"] == "reply-to-victim"]
    assert sorted(o["status"] for o in shown) == ["met", "met"]
    assert service.climb_ladders(session, london("2027-01-10T00:00")) == 0
    session.commit()


def test_a_late_reply_is_met_late_and_closes_the_hubs_no_reply_escalation(
        session: Session, police: AgencyClient) -> None:
    open_case_with_officers(police)
    _send(session, CHRISTMAS_EVE)
    service.climb_ladders(session, london("2026-12-31T09:00"))
    service.climb_ladders(session, london("2027-01-01T09:00"))
    assert len(repository.open_escalations(session)) == 1
    case, victim = the_case(session), the_victim(session)
    service.staff_reply(session, case, victim, author="hub", name="Hub Worker",
                        email="hub@example.com", values={"body": "Sorry for the wait."},
                        now=london("2027-01-04T10:00"))
    assert repository.open_escalations(session) == []
    [reply] = [o for o in obligations.obligations_as_json(session, the_case(session))
               if o["id"] == "reply-to-victim"]
    assert reply["status"] == "met_late"
    session.commit()


@pytest.mark.parametrize(("raised", "first", "second"), [
    ("2026-12-24T10:00", ("supervisor", "2026-12-29"), ("hub", "2026-12-30")),
    ("2026-12-31T18:00", ("supervisor", "2027-01-04"), ("hub", "2027-01-05")),
])
def test_escalation_deadlines_cross_holidays(session: Session, police: AgencyClient,
                                             raised: str, first: tuple[str, str],
                                             second: tuple[str, str]) -> None:
    open_case_with_officers(police)
    case, victim = the_case(session), the_victim(session)
    escalation = service.escalate(session, case, victim, "victim",
                                  {"reason": "cant_reach_officer"}, now=london(raised))
    assert (escalation.holder, escalation.due_at) == (first[0], end_of(first[1]))
    assert escalation.first_due_at == end_of(first[1])
    assert service.climb_ladders(session, end_of(first[1]) + timedelta(seconds=1)) == 1
    session.expire_all()
    moved = repository.get_escalation(session, escalation.id)
    assert moved is not None
    assert (moved.holder, moved.due_at) == (second[0], end_of(second[1]))
    assert moved.first_due_at == end_of(first[1])  # the service level does not move
    session.commit()


def test_i_feel_unsafe_goes_straight_to_the_hub_as_urgent(session: Session,
                                                          police: AgencyClient) -> None:
    open_case_with_officers(police)
    case, victim = the_case(session), the_victim(session)
    with pytest.raises(service.ContactError):  # the 999 guidance was not shown
        service.escalate(session, case, victim, "victim", {"reason": "unsafe"})
    session.rollback()
    assert repository.escalations_of_case(session, case.id) == []
    escalation = service.escalate(session, case, victim, "victim",
                                  {"reason": "unsafe", "confirmed": "1"},
                                  now=london("2026-12-25T22:00"))
    assert escalation.urgent and escalation.holder == HUB
    assert escalation.due_at == london("2026-12-26T00:00")  # 2 hours, holiday or not
    session.commit()


def test_the_hubs_note_on_an_unanswered_message_is_the_reply(session: Session,
                                                             police: AgencyClient) -> None:
    open_case_with_officers(police)
    _send(session, CHRISTMAS_EVE)
    service.climb_ladders(session, london("2026-12-31T09:00"))
    service.climb_ladders(session, london("2027-01-01T09:00"))
    [hub] = repository.open_escalations(session)
    service.resolve(session, hub.id, by="Hana Hubworker",
                    values={"note": "We called you and passed on your question."},
                    now=london("2027-01-04T11:00"))
    thread = _thread(session)
    assert thread.waiting_since is None
    view = service.thread_view(session, the_case(session), the_victim(session))
    assert [(m.author, m.author_name) for m in view.messages] == [
        ("victim", None), ("hub", "Hana Hubworker")]
    [reply] = [o for o in obligations.obligations_as_json(session, the_case(session))
               if o["id"] == "reply-to-victim"]
    assert reply["status"] == "met_late"
    session.commit()
