"""Who sees which case (`cases_visible_to` / `can_see_case`), and the audit of every read."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.cases.models import Case
from app.staff import audit, service
from app.staff.models import StaffAudit
from app.staff.schemas import StaffUser
from tests.staff.cases import OLIVIA, OMAR, REF_A, REF_B, SUE, assign, two_cases
from tests.staff_helpers import sign_in_staff


def _pk(session, reference: str) -> int:
    pk = session.scalar(select(Case.id).where(Case.crime_reference == reference))
    session.commit()
    return pk


def _user(email: str, *roles: str) -> StaffUser:
    return StaffUser(pk=1, subject=f"dev:{email}", email=email, name="X",
                     roles=frozenset(roles))


def _refs(session, staff: StaffUser) -> set[str]:
    refs = {c.crime_reference for c in service.cases_visible_to(session, staff)}
    session.commit()  # SQLite: a transaction holds the write lock the webhooks need
    return refs


def test_the_visibility_rule(session, police):
    two_cases(police)
    a, b = _pk(session, REF_A), _pk(session, REF_B)
    assert _refs(session, _user(OLIVIA, "officer")) == {REF_A}
    assert _refs(session, _user(OLIVIA.upper(), "officer")) == {REF_A}  # email case-insensitive
    assert _refs(session, _user(OMAR, "officer")) == {REF_B}
    assert _refs(session, _user(SUE, "supervisor")) == {REF_A}
    assert _refs(session, _user(SUE, "officer")) == set()  # supervising is not being the OIC
    assert _refs(session, _user("h@example.com", "hub")) == {REF_A, REF_B}
    assert _refs(session, _user("a@example.com", "admin")) == {REF_A, REF_B}
    assert _refs(session, _user("o@example.com", "oversight")) == set()
    assert _refs(session, _user(OMAR, "officer", "supervisor")) == {REF_B}
    assert service.can_see_case(session, _user(OLIVIA, "officer"), a)
    assert not service.can_see_case(session, _user(OLIVIA, "officer"), b)
    assert service.can_see_case(session, _user(SUE, "supervisor"), a)
    assert not service.can_see_case(session, _user("o@example.com", "oversight"), a)
    assert service.can_see_case(session, _user("h@example.com", "hub"), b)
    assert not service.can_see_case(session, _user("h@example.com", "hub"), 999_999)


def test_a_hand_over_moves_the_case_to_the_new_officer(session, police):
    two_cases(police)
    assign(police, REF_A, "oic", "DC Omar Example", OMAR, day="2026-11-25")
    assert _refs(session, _user(OLIVIA, "officer")) == set()
    assert _refs(session, _user(OMAR, "officer")) == {REF_A, REF_B}
    # an older assignment arriving late does not take it back
    assign(police, REF_A, "oic", "DC Olivia Example", OLIVIA, day="2026-11-21")
    assert _refs(session, _user(OLIVIA, "officer")) == set()


def test_case_pages_officer_sees_own_and_gets_404_for_others(client, session, police):
    two_cases(police)
    a, b = _pk(session, REF_A), _pk(session, REF_B)
    sign_in_staff(client, OLIVIA, roles=("officer",))
    listing = client.get("/staff/cases")
    assert REF_A in listing.text and REF_B not in listing.text
    page = client.get(f"/staff/cases/{a}")
    assert page.status_code == 200
    assert "Alex Testperson" in page.text and "alex.t@example.com" in page.text
    assert "Alex" not in page.text.split("<title>")[1].split("</title>")[0]
    other = client.get(f"/staff/cases/{b}")
    missing = client.get("/staff/cases/999999")
    assert other.status_code == missing.status_code == 404
    assert other.text == missing.text  # nothing tells them apart


def test_every_case_read_is_audited(client, session, police):
    two_cases(police)
    a, b = _pk(session, REF_A), _pk(session, REF_B)
    sign_in_staff(client, "hub.person@example.com", roles=("hub",))
    client.get(f"/staff/cases/{a}")
    client.get(f"/staff/cases/{b}")
    client.get("/staff/cases/999999")  # nothing shown, nothing audited
    rows = session.scalars(select(StaffAudit).order_by(StaffAudit.id)).all()
    session.commit()
    assert [(r.case_pk, r.what, r.action, r.staff_email, r.roles) for r in rows] == [
        (a, "case", "read", "hub.person@example.com", "hub"),
        (b, "case", "read", "hub.person@example.com", "hub")]
    sign_in_staff(client, "admin@example.com", roles=("admin",))
    log = client.get("/staff/audit", params={"case": a})
    assert log.status_code == 200 and "hub.person@example.com" in log.text
    assert session.scalar(select(func.count()).select_from(StaffAudit)) == 2  # not a read


@pytest.mark.parametrize("statement", ["UPDATE staff_audit SET what = 'nothing'",
                                       "DELETE FROM staff_audit"])
def test_the_audit_log_is_append_only(session, statement):
    audit.record_read(session, _user("pat@example.com", "hub"), case_pk=1, what="case")
    session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement))
    session.rollback()
    assert session.scalars(select(StaffAudit.what)).all() == ["case"]


def test_case_page_lists_victim_requests_without_their_text_and_links_messages(
        client, engine, session, police):
    from tests.agency_client import at
    from tests.entitlements.outbound_helpers import submit

    two_cases(police)
    a = _pk(session, REF_A)
    review = submit(engine, kind="vrr", agency_kind="police", reference=REF_A,
                    details={"reasons": "Reasons-the-victim-wrote"})
    submit(engine, kind="rj_interest", agency_kind="police", reference=REF_A,
           details={"interested": True, "note": "Note-the-victim-wrote"})
    police.send_ok("request.acknowledged", REF_A, {"request_id": review},
                   occurred_at=at("2026-11-23", "10:00"))
    police.send_ok("request.completed", REF_A,
                   {"request_id": review, "decision": "not_upheld",
                    "explanation": "Explanation-the-police-wrote"},
                   occurred_at=at("2026-12-10", "15:30"))
    sign_in_staff(client, OLIVIA, roles=("officer",))

    page = client.get(f"/staff/cases/{a}")

    assert page.status_code == 200
    assert f'href="/staff/cases/{a}/messages"' in page.text
    requests = page.text.split('id="victim-requests"')[1].split("</table>")[0]
    rows = requests.split('<tr class="govuk-table__row">')[2:]
    assert len(rows) == 2
    assert "Review of a decision (VRR)" in rows[0] and "Completed: not upheld" in rows[0]
    assert "Metropolitan Police" in rows[0] and ">V1<" in rows[0]
    assert "23 November 2026" in rows[0] and "10 December 2026" in rows[0]
    assert "Interest in restorative justice" in rows[1] and ">Sent<" in rows[1]
    for written in ("Reasons-the-victim-wrote", "Note-the-victim-wrote"):
        assert written not in page.text
    assert "Explanation-the-police-wrote" not in requests  # the timeline shows it to staff
    audits = session.scalars(select(StaffAudit).order_by(StaffAudit.id)).all()
    assert [(r.case_pk, r.what, r.detail) for r in audits] == [
        (a, "case", None), (a, "victim-requests", "2 requests")]
    session.commit()  # SQLite: end the read before the next page writes its audit row
    messages = client.get(f"/staff/cases/{a}/messages")
    assert messages.status_code == 200
