"""The oversight dashboard's aggregate queries. Every query returns counts grouped by
non-personal dimensions only (rule, agency, borough, offence group, enhanced or standard,
month, status); nothing here can name a victim. Suppression of small counts happens in one
place, `service.suppressed`, never here.

Two sources give the same figures: the roll-up tables (app/oversight/models.py, what the page
reads: a few thousand rows at a million cases) and the rows themselves (`*_from_rows`: every
obligation scanned; the tests check the roll-up against them). The refresh that keeps the
roll-up up to date is at the end.

The queries run on SQLite (the embedded default) and PostgreSQL; a few SQL functions differ
(month truncation, durations, rounding, percentiles) and are chosen per dialect below.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    String,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.orm import Session

from app.agencies.models import Agency, ReceivedEvent
from app.cases.models import Case
from app.core.db import upsert_ignore
from app.notifications.models import Notification
from app.obligations.models import Obligation
from app.obligations.rules import RULES
from app.oversight.models import DurationCount, NotificationCount, ObligationCount, RollupState

CODE_RULES = tuple(r.id for r in RULES if r.code)
# The Code's "tell the victim about a decision" obligations: decision (trigger) to informed (met)
DECISION_RULES = ("inform-police-decision", "inform-cps-decision")
# compliance dimension -> its column in `compliance_cube`'s rows
DIMENSIONS = {"obligation": "rule_id", "agency": "agency", "borough": "borough",
              "offence_group": "offence_group", "rights": "enhanced", "month": "month"}
# Histogram buckets of decision-to-informed durations: (below this many hours, bucket width in
# tenths of an hour). A duration is rounded to the nearest bucket, so percentiles are exact to
# 0.1 hour under a week, to the hour under 30 days, to the day beyond.
DURATION_BUCKETS = ((168, 1), (720, 10), (None, 240))
STATE_ID = 1


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _month(session: Session, column: Any) -> ColumnElement[Any]:
    if _postgres(session):
        return func.to_char(func.date_trunc("month", func.timezone("UTC", column)), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _seconds_between(session: Session, start: Any, end: Any) -> ColumnElement[Any]:
    if _postgres(session):
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _round(session: Session, value: Any) -> ColumnElement[Any]:
    """Half up, for values >= 0 (PostgreSQL's round() of a float rounds half to even)."""
    if _postgres(session):
        return cast(func.floor(value + 0.5), Integer)
    return cast(value + 0.5, Integer)  # SQLite's cast truncates


def _duration_tenths(session: Session, start: Any, end: Any) -> ColumnElement[Any]:
    """The duration in tenths of an hour, rounded to its DURATION_BUCKETS bucket."""
    tenths = _seconds_between(session, start, end) / 360.0
    whens = []
    for below_hours, width in DURATION_BUCKETS:
        rounded = _round(session, tenths / width) * width
        if below_hours is None:
            return case((tenths <= 0, 0), *whens, else_=rounded)
        whens.append((tenths < below_hours * 10, rounded))
    raise AssertionError("DURATION_BUCKETS must end with an open bucket")


# -- from the rows --------------------------------------------------------------------------

def compliance_cube_from_rows(session: Session) -> Sequence[Row[Any]]:
    """One pass over the Victims' Code obligations that have a deadline (cancelled ones and
    windows not yet started left out): (rule, agency, borough, offence group, enhanced, month
    due, status, count). Every "compliance by ..." table is a roll-up of these rows."""
    agency = func.coalesce(Agency.name, Obligation.owner).label("agency")
    month = _month(session, Obligation.due_at).label("month")
    groups = (Obligation.rule_id, agency, Case.borough, Case.offence_group, Obligation.enhanced,
              month, Obligation.status)
    return session.execute(
        select(*groups, func.count().label("n"))
        .join(Case, Case.id == Obligation.case_pk)
        .outerjoin(Agency, Agency.id == Obligation.owner_agency_pk)
        .where(Obligation.rule_id.in_(CODE_RULES), Obligation.status != "cancelled",
               Obligation.due_at.is_not(None))
        .group_by(*groups)
    ).all()


def decision_to_informed_from_rows(
        session: Session) -> list[tuple[str, int, float | None, float | None]]:
    """Per decision rule: (rule, how many informed, median hours, 90th percentile hours), exact."""
    seconds = _seconds_between(session, Obligation.trigger_at, Obligation.met_at)
    if _postgres(session):
        rows = session.execute(
            select(Obligation.rule_id, func.count(),
                   func.percentile_cont(0.5).within_group(seconds),
                   func.percentile_cont(0.9).within_group(seconds))
            .where(*_informed()).group_by(Obligation.rule_id).order_by(Obligation.rule_id)
        ).all()
        return [(r, n, _hours(p50), _hours(p90)) for r, n, p50, p90 in rows]
    result = []
    for rule_id in DECISION_RULES:  # SQLite has no percentile: the embedded default is small
        values = sorted(v for v in session.scalars(
            select(seconds).where(*_informed(), Obligation.rule_id == rule_id)) if v is not None)
        if values:
            result.append((rule_id, len(values), _hours(percentile(values, 0.5)),
                           _hours(percentile(values, 0.9))))
    return result


def _informed() -> tuple[ColumnElement[bool], ...]:
    return (Obligation.rule_id.in_(DECISION_RULES), Obligation.met_at.is_not(None),
            Obligation.status.in_(("met", "met_late")))


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation, as PostgreSQL's percentile_cont."""
    position = (len(values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else float(seconds) / 3600.0


def obligation_statuses_from_rows(session: Session,
                                  rule_ids: Sequence[str]) -> Sequence[Row[Any]]:
    """(rule, status, count) for the given rules (cancelled ones left out)."""
    return session.execute(
        select(Obligation.rule_id, Obligation.status, func.count())
        .where(Obligation.rule_id.in_(rule_ids), Obligation.status != "cancelled")
        .group_by(Obligation.rule_id, Obligation.status)
        .order_by(Obligation.rule_id, Obligation.status)
    ).all()


def _delivery_counts() -> Any:
    return (select(Notification.channel, Notification.status, func.count().label("n"))
            .where(Notification.digest_pk.is_(None))
            .group_by(Notification.channel, Notification.status))


def notification_delivery_from_rows(session: Session) -> Sequence[Row[Any]]:
    """(channel, status, count) of notifications (digest members share their carrier's)."""
    return session.execute(
        _delivery_counts().order_by(Notification.channel, Notification.status)).all()


def event_count(session: Session, event_type: str) -> int:
    """How many cases had an event of this type (e.g. vps.recorded: a VPS was made). An
    index-only scan of ix_received_event_type_case."""
    return session.scalar(
        select(func.count(func.distinct(ReceivedEvent.case_pk)))
        .where(ReceivedEvent.type == event_type)) or 0


def requests_by_outcome(session: Session, kind: str) -> Sequence[Row[Any]]:
    """(status, decision, count) of victims' requests of one kind (app/outbound)."""
    from app.outbound.models import AgencyRequest

    return session.execute(
        select(AgencyRequest.status, func.coalesce(AgencyRequest.decision, ""), func.count())
        .where(AgencyRequest.kind == kind)
        .group_by(AgencyRequest.status, AgencyRequest.decision)
        .order_by(AgencyRequest.status, AgencyRequest.decision)
    ).all()


# -- from the roll-up -----------------------------------------------------------------------

def compliance_cube(session: Session) -> Sequence[Row[Any]]:
    """`compliance_cube_from_rows`, summed from the roll-up."""
    agency = func.coalesce(Agency.name, ObligationCount.owner).label("agency")
    month = ObligationCount.due_month.label("month")
    groups = (ObligationCount.rule_id, agency, ObligationCount.borough,
              ObligationCount.offence_group, ObligationCount.enhanced, month,
              ObligationCount.status)
    return session.execute(
        select(*groups, func.sum(ObligationCount.n).label("n"))
        .outerjoin(Agency, Agency.id == ObligationCount.owner_agency_pk)
        .where(ObligationCount.rule_id.in_(CODE_RULES), ObligationCount.due_month.is_not(None))
        .group_by(*groups)
    ).all()


def obligation_statuses(session: Session, rule_ids: Sequence[str]) -> Sequence[Row[Any]]:
    """`obligation_statuses_from_rows`, summed from the roll-up."""
    return session.execute(
        select(ObligationCount.rule_id, ObligationCount.status, func.sum(ObligationCount.n))
        .where(ObligationCount.rule_id.in_(rule_ids))
        .group_by(ObligationCount.rule_id, ObligationCount.status)
        .order_by(ObligationCount.rule_id, ObligationCount.status)
    ).all()


def duration_histogram(session: Session) -> Sequence[Row[Any]]:
    """(rule, duration in tenths of an hour, count), shortest first per rule."""
    return session.execute(
        select(DurationCount.rule_id, DurationCount.tenths, func.sum(DurationCount.n))
        .group_by(DurationCount.rule_id, DurationCount.tenths)
        .order_by(DurationCount.rule_id, DurationCount.tenths)
    ).all()


def duration_histogram_from_rows(session: Session) -> Sequence[Row[Any]]:
    """`duration_histogram` straight from the rows (the same buckets)."""
    tenths = _duration_tenths(session, Obligation.trigger_at, Obligation.met_at)
    return session.execute(
        select(Obligation.rule_id, tenths, func.count()).where(*_informed())
        .group_by(Obligation.rule_id, tenths).order_by(Obligation.rule_id, tenths)
    ).all()


def notification_delivery(session: Session) -> Sequence[Row[Any]]:
    """`notification_delivery_from_rows`, as at the last refresh."""
    return session.execute(
        select(NotificationCount.channel, NotificationCount.status, NotificationCount.n)
        .order_by(NotificationCount.channel, NotificationCount.status)
    ).all()


def rollup_state(session: Session) -> RollupState | None:
    return session.get(RollupState, STATE_ID)


# -- the refresh ----------------------------------------------------------------------------

def add_state(session: Session) -> None:
    """The state row, unless it exists. Committed on its own before `claim_state`: an insert
    not yet committed would make other workers' inserts wait instead of skipping."""
    upsert_ignore(session, RollupState, {"id": STATE_ID}, ["id"])


def claim_state(session: Session) -> RollupState | None:
    """The state row, locked until the transaction ends; None while another refresh holds it
    (PostgreSQL; on SQLite the write transaction already has the database to itself)."""
    return session.scalars(
        select(RollupState).where(RollupState.id == STATE_ID)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).one_or_none()


def months_touched(session: Session, since: datetime) -> list[str]:
    """Trigger months (YYYY-MM) of obligations updated after `since` (ix_obligation_updated_at)."""
    month = _month(session, Obligation.trigger_at)
    return list(session.scalars(
        select(month).where(Obligation.updated_at > since).group_by(month).order_by(month)))


def first_trigger_from(session: Session, at: datetime | None) -> datetime | None:
    """The earliest trigger time at or after `at` (ix_obligation_trigger_at): walks the months
    that have obligations without reading the obligations."""
    query = select(func.min(Obligation.trigger_at))
    if at is not None:
        query = query.where(Obligation.trigger_at >= at)
    return session.scalar(query)


def delete_months(session: Session, months: Sequence[str] | None) -> None:
    """The roll-up rows of these trigger months (None: every month)."""
    for model in (ObligationCount, DurationCount):
        statement = delete(model)
        if months is not None:
            statement = statement.where(model.trigger_month.in_(months))
        session.execute(statement)


def count_month(session: Session, month: str, start: datetime, end: datetime) -> None:
    """Counts the obligations triggered in [start, end) into the roll-up as `month`."""
    in_month = (Obligation.trigger_at >= start, Obligation.trigger_at < end)
    groups = (_month(session, Obligation.due_at), Obligation.rule_id, Obligation.owner,
              Obligation.owner_agency_pk, Case.borough, Case.offence_group, Obligation.enhanced,
              Obligation.status)
    session.execute(insert(ObligationCount).from_select(
        ["trigger_month", "due_month", "rule_id", "owner", "owner_agency_pk", "borough",
         "offence_group", "enhanced", "status", "n"],
        select(literal(month, String), *groups, func.count())
        .join(Case, Case.id == Obligation.case_pk)
        .where(*in_month, Obligation.status != "cancelled")
        .group_by(*groups)))
    tenths = _duration_tenths(session, Obligation.trigger_at, Obligation.met_at)
    session.execute(insert(DurationCount).from_select(
        ["trigger_month", "rule_id", "tenths", "n"],
        select(literal(month, String), Obligation.rule_id, tenths, func.count())
        .where(*in_month, *_informed())
        .group_by(Obligation.rule_id, tenths)))


def recount_notifications(session: Session) -> None:
    session.execute(delete(NotificationCount))
    session.execute(insert(NotificationCount).from_select(
        ["channel", "status", "n"], _delivery_counts()))
