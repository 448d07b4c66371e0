"""The oversight roll-up: the page's figures equal the figures straight from the rows, after a
full rebuild and after incremental refreshes; one refresh at a time; the worker job."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.agencies.models import Agency
from app.cases.models import Case, Victim
from app.core.db import make_sessionmaker, utcnow
from app.jobs import all_jobs
from app.notifications.models import Notification
from app.obligations.models import Obligation
from app.oversight import repository, service, tasks
from app.oversight.models import RollupState
from tests.staff_helpers import sign_in_staff

# Months either side of a year end, so trigger and due months differ across a boundary
MONTH_STARTS = [datetime(2025, 11, 1, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC),
                datetime(2026, 1, 1, tzinfo=UTC)]
RULES = ["inform-police-decision", "inform-cps-decision", "vps-offer", "vrr-police-done",
         "support-referral", "reply-to-victim"]  # the last is not a Code rule
STATUSES = ["open", "met", "met_late", "breached", "cancelled"]


def _agencies(session) -> list[int | None]:
    police = Agency(agency_id="met-police", kind="police", name="Metropolitan Police")
    cps = Agency(agency_id="cps-london", kind="cps", name="CPS London")
    session.add_all([police, cps])
    session.flush()
    return [police.id, cps.id, None]  # None: no owning agency, shown by its owner kind


def _cases(session, count: int, rng: random.Random) -> list[tuple[int, int]]:
    pairs = []
    for n in range(count):
        case = Case(crime_reference=f"01/8{n:04d}/25", crime_type="Burglary",
                    offence_group=rng.choice(["burglary", "violence"]),
                    borough=rng.choice(["Hackney", "Camden", "Lambeth"]),
                    reported_at=MONTH_STARTS[0], opened_at=MONTH_STARTS[0])
        session.add(case)
        session.flush()
        victim = Victim(case_pk=case.id, victim_ref="V1", given_name="Alex",
                        family_name=f"Testperson{n}", version="v")
        session.add(victim)
        session.flush()
        pairs.append((case.id, victim.id))
    return pairs


def _random_obligation(rng: random.Random, n: int, case_pk: int, victim_pk: int,
                       agency_pk: int | None, fractional: bool) -> Obligation:
    trigger_at = rng.choice(MONTH_STARTS) + timedelta(hours=rng.randrange(0, 31 * 24))
    status = rng.choice(STATUSES)
    due_at = None if rng.random() < 0.1 else trigger_at + timedelta(days=rng.randrange(1, 20))
    met_at = None
    if status in ("met", "met_late"):
        # whole hours (exact in every bucket) unless asked for durations between buckets
        hours = rng.choice([rng.randrange(0, 100), rng.randrange(160, 800), 24 * 40])
        met_at = trigger_at + timedelta(hours=hours, seconds=rng.randrange(3600) * fractional)
    return Obligation(case_pk=case_pk, victim_pk=victim_pk, rule_id=rng.choice(RULES),
                      owner="police" if agency_pk != 2 else "cps", owner_agency_pk=agency_pk,
                      trigger_key=f"k{n}", trigger_at=trigger_at, due_at=due_at, met_at=met_at,
                      status=status, enhanced=rng.random() < 0.3)


def _random_data(session, seed: int, obligations: int = 400, fractional: bool = False) -> None:
    rng = random.Random(seed)
    agencies = _agencies(session)
    cases = _cases(session, 40, rng)
    for n in range(obligations):
        case_pk, victim_pk = rng.choice(cases)
        session.add(_random_obligation(rng, n, case_pk, victim_pk, rng.choice(agencies),
                                       fractional))
    for _n in range(60):
        case_pk, victim_pk = rng.choice(cases)
        session.add(Notification(case_pk=case_pk, victim_pk=victim_pk, recipient="victim",
                                 channel=rng.choice(["sms", "email"]), to="07700900123",
                                 template="case.opened", language="en", discreet=False,
                                 status=rng.choice(["delivered", "permanent-failure"]),
                                 next_attempt_at=MONTH_STARTS[0]))
    session.flush()
    # written an hour ago: older than a refresh's look-back for late commits
    session.execute(update(Obligation).values(updated_at=utcnow() - timedelta(hours=1)))
    session.commit()


def _assert_rollup_matches_rows(session) -> None:
    def cube(source):
        return sorted(tuple(row) for row in source.compliance_cube(session))

    assert cube(service.ROLLUP) == cube(service.ROWS)
    assert service.ROLLUP.obligation_statuses(session, RULES) == \
        service.ROWS.obligation_statuses(session, RULES)
    assert [tuple(r) for r in repository.duration_histogram(session)] == \
        [tuple(r) for r in repository.duration_histogram_from_rows(session)]
    assert service.dashboard(session, service.ROLLUP) == service.dashboard(session, service.ROWS)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_roll_up_gives_the_figures_the_rows_give(session, seed):
    _random_data(session, seed)
    assert service.refresh(session).months is None  # the first refresh rebuilds every month
    _assert_rollup_matches_rows(session)
    rows = {row[0]: row for row in service.table(session, "compliance-month").rows}
    assert any(cell not in ("0", "<10") for row in rows.values() for cell in row[1:6])


def test_percentiles_from_the_histogram_are_exact_to_its_buckets(session):
    _random_data(session, 4, fractional=True)
    service.refresh(session)
    histogram = repository.duration_histogram(session)
    assert [tuple(r) for r in histogram] == \
        [tuple(r) for r in repository.duration_histogram_from_rows(session)]
    exact = {r: (n, p50, p90) for r, n, p50, p90 in service.ROWS.decision_to_informed(session)}
    for rule_id, count, p50, p90 in service.ROLLUP.decision_to_informed(session):
        assert count == exact[rule_id][0]
        # rounded to 0.1 h under a week, 1 h under 30 days, a day beyond (the data reaches
        # 40 days, so a percentile among those is within half a day)
        assert abs(p50 - exact[rule_id][1]) <= 12 and abs(p90 - exact[rule_id][2]) <= 12


def test_a_refresh_rebuilds_only_the_months_that_changed(session):
    _random_data(session, 5)
    first = service.refresh(session)
    # an open obligation in December is met late
    target = session.scalars(
        select(Obligation).where(Obligation.status == "open", Obligation.due_at.is_not(None),
                                 Obligation.trigger_at >= MONTH_STARTS[1],
                                 Obligation.trigger_at < MONTH_STARTS[2])
        .order_by(Obligation.id).limit(1)).one()
    before = _month_counts(session, target)
    assert target.due_at is not None
    target.met_at, target.status = target.due_at + timedelta(days=1), "met_late"
    session.commit()
    later = first.as_at + timedelta(minutes=10)
    assert service.refresh(session, now=later).months == ["2025-12"]
    after = _month_counts(session, target)
    assert after["open"] == before["open"] - 1
    assert after["met_late"] == before["met_late"] + 1
    _assert_rollup_matches_rows(session)
    # nothing changed since: the next refresh (past the commit lag) rebuilds nothing
    assert service.refresh(session, now=later + timedelta(minutes=10)).months == []


def test_a_change_committed_after_the_refresh_that_began_later_is_not_lost(session):
    _random_data(session, 10)
    first = service.refresh(session)
    # a writer stamped updated_at a minute before the refresh began, and committed after it
    november = session.scalars(
        select(Obligation).where(Obligation.status == "open", Obligation.due_at.is_not(None),
                                 Obligation.trigger_at < MONTH_STARTS[1])
        .order_by(Obligation.id).limit(1)).one()
    session.execute(update(Obligation).where(Obligation.id == november.id).values(
        status="breached", updated_at=first.as_at - timedelta(minutes=1)))
    session.commit()
    assert service.refresh(session).months == ["2025-11"]
    _assert_rollup_matches_rows(session)


def _month_counts(session, obligation) -> dict[str, int]:
    month = obligation.due_at.strftime("%Y-%m")
    counts = {"open": 0, "met_late": 0}
    for row in service.ROLLUP.compliance_cube(session):
        if row.month == month and row.status in counts:
            counts[row.status] += int(row.n)
    return counts


def test_what_an_update_cannot_show_is_put_right_by_the_daily_full_rebuild(session):
    _random_data(session, 6)
    first = service.refresh(session)
    session.execute(update(Case).where(Case.borough == "Camden").values(borough="Islington"))
    session.commit()
    incremental = service.refresh(session, now=first.as_at + timedelta(minutes=10))
    assert incremental.months == []  # no obligation changed: Islington not yet counted
    assert "Islington" not in {r.borough for r in service.ROLLUP.compliance_cube(session)}
    daily = service.refresh(session, now=first.as_at + service.FULL_EVERY)
    assert daily.months is None
    _assert_rollup_matches_rows(session)
    assert "Islington" in {r.borough for r in service.ROLLUP.compliance_cube(session)}


def test_small_counts_stay_suppressed_from_the_roll_up(session):
    agency_pk = _agencies(session)[0]
    (case_pk, victim_pk), = _cases(session, 1, random.Random(7))
    for n in range(3):
        session.add(Obligation(case_pk=case_pk, victim_pk=victim_pk, rule_id="vps-offer",
                               owner="police", owner_agency_pk=agency_pk, trigger_key=f"s{n}",
                               trigger_at=MONTH_STARTS[0],
                               due_at=MONTH_STARTS[0] + timedelta(days=5), status="met",
                               met_at=MONTH_STARTS[0] + timedelta(hours=1)))
    session.commit()
    service.refresh(session)
    assert service.table(session, "compliance-obligation").rows == [
        ["vps-offer", "<10", "<10", "0", "0", "0", service.NO_RATE]]
    assert ["vps-offer: met on time", "<10"] in service.table(session, "vps").rows
    assert service.as_csv(service.table(session, "compliance-month"), str).splitlines()[1] == \
        "2025-11,<10,<10,0,0,0,\u2013"


def test_the_page_says_how_fresh_the_figures_are(client, session):
    sign_in_staff(client, "olu.oversight@example.com", roles=("oversight",))
    assert "have not been worked out yet" in client.get("/staff/oversight").text
    _random_data(session, 8, obligations=50)
    service.refresh(session, now=datetime(2026, 1, 20, 14, 5, tzinfo=UTC))
    page = client.get("/staff/oversight").text
    assert "Figures as at 20 Jan 2026, 14:05" in page


def test_only_one_refresh_at_a_time(session, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: BEGIN IMMEDIATE serialises refreshes")
    assert service.refresh(session) is not None  # the first refresh adds the state row
    other = make_sessionmaker(engine)()
    try:
        assert repository.claim_state(other) is not None  # another worker's refresh, running
        other.flush()
        assert service.refresh(session) is None
        other.rollback()
        assert service.refresh(session) is not None
    finally:
        other.close()


def test_the_worker_job_refreshes_at_most_once_a_minute(session, engine, settings):
    assert "oversight-rollup" in {job.name for job in all_jobs(settings, {})}
    _random_data(session, 9, obligations=30)
    factory = make_sessionmaker(engine)
    assert tasks.refresh_rollup(factory) == 0
    session.expire_all()
    state = session.get(RollupState, repository.STATE_ID)
    assert state is not None and state.refreshed_at is not None
    first = state.refreshed_at
    _assert_rollup_matches_rows(session)
    session.rollback()  # SQLite: a transaction holds the one write lock
    tasks.refresh_rollup(factory)  # within the minute: another worker's job does nothing
    session.expire_all()
    assert session.get(RollupState, repository.STATE_ID).refreshed_at == first

