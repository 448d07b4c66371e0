"""Who an agency event's messages are queued to: the representative as the event leaves them,
and an opted-out representative's number. Pins `repository.recipients_of_case` (plain columns,
read after the projection's flush). SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.core.db import utcnow
from app.notifications.models import SmsOptOut
from tests.agency_client import opened, victim
from tests.notify_helpers import rows

REF = "01/55556/26"
JO = {"name": "Jo Testparent", "relationship": "parent", "mobile": "07700 900200",
      "email": "jo@example.com"}
AL = {"name": "Al Testparent", "relationship": "parent", "mobile": "07700 900201",
      "email": "al@example.com"}


def _queued(engine, template: str) -> list[tuple[str, str]]:
    return sorted((n.recipient, n.to) for n in rows(engine, template=template))


def _open_then_add_again(police, first: dict, again: dict) -> None:
    police.send_ok("case.opened", REF, opened(victims=[first]), occurred_at="2026-11-20T09:00:00Z")
    police.send_ok("victim.added", REF, {"victim": again}, occurred_at="2026-11-21T09:00:00Z")


def test_a_representative_removed_by_the_event_gets_nothing(police, engine):
    _open_then_add_again(police, victim(representative=JO), victim())
    assert _queued(engine, "victim.added") == [("victim", "+447700900123")]


def test_a_representative_added_by_the_event_gets_a_copy(police, engine):
    _open_then_add_again(police, victim(), victim(representative=JO))
    assert _queued(engine, "victim.added") == [("representative", "+447700900200"),
                                               ("victim", "+447700900123")]


def test_a_representative_changed_by_the_event_gets_it_at_the_new_number(police, engine):
    _open_then_add_again(police, victim(representative=JO),
                         victim(representative=AL, mobile="07700 900999"))
    assert _queued(engine, "victim.added") == [("representative", "+447700900201"),
                                               ("victim", "+447700900999")]


def test_nothing_is_texted_to_a_representative_who_opted_out(police, engine):
    with Session(engine) as session:
        session.add(SmsOptOut(number="+447700900200", opted_out_at=utcnow()))
        session.commit()
    police.send_ok("case.opened", REF, opened(victims=[victim(representative=JO)]))
    police.send_ok("investigation.update", REF, {"message": "x"})
    assert _queued(engine, "investigation.update") == [("representative", "jo@example.com"),
                                                       ("victim", "+447700900123")]
