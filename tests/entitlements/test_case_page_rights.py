"""The case page's "Your rights" panel reads plain (right, key, state) rows: it must show the
same rights in the same states as `rights_summary(rights_of(...))`, whatever is stored.
SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from app.cases.models import Case, Victim
from app.core.db import make_sessionmaker, utcnow
from app.entitlements import rights as r
from app.entitlements import service
from app.entitlements.models import Entitlement

REF = "01/30002/26"


def summaries(engine, ref: str) -> tuple[list[tuple], list[tuple]]:
    """(light, full) summaries of the victim's rights: (right, key, state, decision, window)."""
    with make_sessionmaker(engine)() as db:
        case = db.scalars(select(Case).where(Case.crime_reference == REF)).one()
        victim = db.scalars(select(Victim).where(Victim.case_pk == case.id,
                                                 Victim.victim_ref == ref)).one()
        now = utcnow()
        light = service.case_page_rights(db, case, victim, now)
        full = service.rights_summary(service.rights_of(db, case, victim, now))
        assert all(i.row is None for i in light)
        return ([(i.right, i.key, i.state, i.decision, i.window) for i in light],
                [(i.right, i.key, i.state, i.decision, i.window) for i in full])


def store(engine, ref: str, states: dict[tuple[str, str], str]) -> None:
    with make_sessionmaker(engine)() as db:
        victim = db.scalars(select(Victim).where(Victim.victim_ref == ref)).one()
        now = utcnow()
        for (right, key), state in states.items():
            db.add(Entitlement(case_pk=victim.case_pk, victim_pk=victim.id, right=right,
                               key=key, state=state, created_at=now, updated_at=now))
        db.commit()


def test_case_page_rights_are_the_summary_of_every_right(engine, cast):
    light, full = summaries(engine, "V1")
    assert light == full and light  # nothing stored yet: support and RJ apply from the report

    cast["cps"].send_ok("charging.decision", REF, {
        "decision": "no_further_action", "explanation": "Not enough evidence.",
        "vrr_eligible": True}, occurred_at="2026-11-20T10:00:00Z")
    light, full = summaries(engine, "V1")
    assert light == full
    [vrr_key] = [key for right, key, *_ in light if right == r.VRR]

    store(engine, "V1", {(r.SUPPORT, ""): r.DECLINED, (r.VRR, vrr_key): r.REQUESTED,
                         (r.RJ, ""): r.EXPIRED, (r.VPS, ""): r.AVAILABLE})
    light, full = summaries(engine, "V1")
    assert light == full
    states = {right: state for right, _key, state, *_ in light}
    assert states[r.SUPPORT] == r.DECLINED and states[r.VRR] == r.REQUESTED
    assert r.RJ not in states  # expired: not shown
    assert summaries(engine, "V2")[0] == summaries(engine, "V2")[1]  # Sam's are not Alex's
