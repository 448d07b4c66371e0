"""The oversight dashboard's tables, built from the aggregate queries. Every count shown or
exported goes through `suppressed`: counts from 1 to 9 show as "<10" (and rates built on them
as a dash), so no small group can point at a victim. No table holds personal data.

The page reads a roll-up (app/oversight/models.py) that `refresh` keeps up to date (the worker
job in app/oversight/tasks.py runs it every minute): it rebuilds, in one transaction, the
trigger months of the obligations updated since its watermark, so each refresh is exact for
the months it rebuilds. What an update of an obligation cannot show (an obligation moved to
another trigger month, a case's borough or offence group changed, a case deleted) is put right
by the rebuild of every month, once a day. The figures carry the time of their last refresh.

A table's fixed wording (title, caption, columns, chart title) is msgids the page translates;
its row and bar labels are made here for one reader (`t`), whole sentences with placeholders, so
a label that joins words with values (an obligation and its status) translates as one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.agencies.catalogue import REQUEST_DECISIONS
from app.core.db import utcnow
from app.core.i18n import N_, Translator, translator
from app.oversight import repository

ENGLISH = translator("en")
SMALL = 10
SUPPRESSED = "<10"
NO_RATE = "\u2013"  # an en dash


def suppressed(count: int | None) -> str:
    """THE small-number rule: 0 shows as 0, 1 to 9 as "<10"."""
    count = int(count or 0)
    return SUPPRESSED if 0 < count < SMALL else str(count)


def is_small(count: int | None) -> bool:
    return 0 < int(count or 0) < SMALL


def rate(part: int, whole: int) -> tuple[str, float | None]:
    """A percentage and its fraction for a bar, or a dash when either count is small or the
    whole is zero (a rate would give a small count away)."""
    if whole <= 0 or is_small(part) or is_small(whole) or is_small(whole - part):
        return NO_RATE, None
    fraction = part / whole
    return f"{round(fraction * 100)}%", fraction


@dataclass(frozen=True)
class Bar:
    label: str
    fraction: float | None  # None: suppressed, no bar drawn
    text: str


@dataclass
class Table:
    """Labels (the rows' first cells, the bars') are in the reader's language; the rest of the
    wording is msgids for the page to translate."""

    key: str
    title: str
    caption: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    chart_title: str = ""
    note: str = ""


@dataclass(frozen=True)
class Source:
    """Where the figures the tables need come from: the roll-up (ROLLUP, what the page shows)
    or the rows themselves (ROWS: exact and slow at scale; the tests check one against the
    other)."""

    compliance_cube: Callable[[Session], Sequence[Any]]
    # [(rule, how many informed, median hours, 90th percentile hours)]
    decision_to_informed: Callable[[Session], list[tuple[str, int, float | None, float | None]]]
    obligation_statuses: Callable[[Session, Sequence[str]], Sequence[Any]]
    notification_delivery: Callable[[Session], Sequence[Any]]


def _percentiles_from_histogram(
        session: Session) -> list[tuple[str, int, float | None, float | None]]:
    """Median and 90th percentile as percentile_cont gives them over the durations rounded to
    their buckets (repository.DURATION_BUCKETS)."""
    per_rule: dict[str, list[tuple[int, int]]] = {}
    for rule_id, tenths, count in repository.duration_histogram(session):
        per_rule.setdefault(rule_id, []).append((int(tenths), int(count)))
    result = []
    for rule_id, buckets in sorted(per_rule.items()):
        total = sum(count for _tenths, count in buckets)
        result.append((rule_id, total, _weighted_percentile(buckets, total, 0.5) / 10,
                       _weighted_percentile(buckets, total, 0.9) / 10))
    return result


def _weighted_percentile(buckets: list[tuple[int, int]], total: int, fraction: float) -> float:
    position = (total - 1) * fraction
    low = int(position)
    return repository.percentile([_nth(buckets, low), _nth(buckets, min(low + 1, total - 1))],
                                 position - low)


def _nth(buckets: list[tuple[int, int]], index: int) -> float:
    """The index-th smallest value (from 0) of a histogram sorted by value."""
    for value, count in buckets:
        if index < count:
            return value
        index -= count
    raise IndexError(index)


ROLLUP = Source(repository.compliance_cube, _percentiles_from_histogram,
                repository.obligation_statuses, repository.notification_delivery)
ROWS = Source(repository.compliance_cube_from_rows, repository.decision_to_informed_from_rows,
              repository.obligation_statuses_from_rows,
              repository.notification_delivery_from_rows)

# A full rebuild this often puts right what an obligation's updated_at cannot show.
FULL_EVERY = timedelta(hours=24)
# Writers stamp updated_at before they commit: a change stamped shortly before a refresh began
# may commit after it read, so the next refresh looks this far back again (rebuilding a month
# twice is harmless). Also covers clock skew between app servers.
COMMIT_LAG = timedelta(minutes=2)


@dataclass(frozen=True)
class Refresh:
    months: list[str] | None  # the trigger months rebuilt; None: every month
    as_at: datetime


def refresh(session: Session, now: datetime | None = None, full: bool = False,
            unless_within: timedelta | None = None) -> Refresh | None:
    """Brings the roll-up up to date in one transaction and commits. Safe with any number of
    workers: the state row is the lease, and a refresh that finds it held does nothing (None).
    Also None when `unless_within` is given and the last refresh is more recent than that.
    `full`: rebuild every month (also when the last full rebuild is older than FULL_EVERY)."""
    now = now or utcnow()
    repository.add_state(session)
    session.commit()
    state = repository.claim_state(session)
    if state is None or (unless_within is not None and state.refreshed_at is not None
                         and state.refreshed_at > now - unless_within):
        session.rollback()
        return None
    full = (full or state.watermark is None or state.full_at is None
            or state.full_at <= now - FULL_EVERY)
    months = None if full else repository.months_touched(session, state.watermark)
    repository.delete_months(session, months)
    for month, start, end in (_every_month(session) if months is None
                              else map(_month_span, months)):
        repository.count_month(session, month, start, end)
    repository.recount_notifications(session)
    state.watermark = now - COMMIT_LAG
    state.refreshed_at = now
    if full:
        state.full_at = now
    session.commit()
    return Refresh(months, now)


def _month_span(month: str) -> tuple[str, datetime, datetime]:
    """"YYYY-MM" -> (it, its first instant, the next month's first instant), UTC."""
    year, number = (int(part) for part in month.split("-"))
    return (month, datetime(year, number, 1, tzinfo=UTC),
            datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC))


def _every_month(session: Session) -> Iterator[tuple[str, datetime, datetime]]:
    """Every trigger month that has obligations, by index look-ups only."""
    at = repository.first_trigger_from(session, None)
    while at is not None:
        span = _month_span(at.astimezone(UTC).strftime("%Y-%m"))
        yield span
        at = repository.first_trigger_from(session, span[2])


STATUS_COLUMNS = ("met", "met_late", "breached", "open")


RIGHTS_LABELS = {True: N_("enhanced"), False: N_("standard")}


def _rolled_up(cube: Sequence[Any], dimension: str, t: Translator) -> dict[str, dict[str, int]]:
    column = repository.DIMENSIONS[dimension]
    groups: dict[str, dict[str, int]] = {}
    for row in cube:
        value = getattr(row, column)
        if dimension == "rights":
            value = t._(RIGHTS_LABELS[bool(value)])
        counts = groups.setdefault(str(value) if value is not None else NO_RATE, {})
        counts[row.status] = counts.get(row.status, 0) + int(row.n)
    return dict(sorted(groups.items()))


def _compliance(cube: Sequence[Any], dimension: str, t: Translator) -> Table:
    table = Table(f"compliance-{dimension.replace('_', '-')}", COMPLIANCE_TITLES[dimension],
                  N_("Victims' Code obligations with a deadline, by status"),
                  [DIMENSION_LABELS[dimension], N_("Obligations"), N_("Met on time"),
                   N_("Met late"), N_("Breached"), N_("Still open"), N_("On time")],
                  chart_title=N_("Share met on time (of those decided)"))
    for label, counts in _rolled_up(cube, dimension, t).items():
        met, late, breached, still_open = (counts.get(s, 0) for s in STATUS_COLUMNS)
        text, fraction = rate(met, met + late + breached)
        table.rows.append([label, suppressed(met + late + breached + still_open),
                           suppressed(met), suppressed(late), suppressed(breached),
                           suppressed(still_open), text])
        table.bars.append(Bar(label, fraction, text))
    return table


DIMENSION_LABELS = {"obligation": N_("Obligation"), "agency": N_("Agency"),
                    "borough": N_("Borough"), "offence_group": N_("Offence group"),
                    "rights": N_("Rights"), "month": N_("Month due")}
COMPLIANCE_TITLES = {
    "obligation": N_("Compliance by obligation"), "agency": N_("Compliance by agency"),
    "borough": N_("Compliance by borough"), "offence_group": N_("Compliance by offence group"),
    "rights": N_("Compliance: enhanced and standard rights"),
    "month": N_("Compliance by month"),
}


def _hours_text(hours: float | None) -> str:
    if hours is None:
        return NO_RATE
    return f"{hours:.1f}"


def _decision_to_informed(session: Session, source: Source, _t: Translator) -> Table:
    table = Table("decision-to-informed", N_("Time from decision to victim informed"),
                  N_("Hours from a police or CPS decision to the victim being informed"),
                  [N_("Decision"), N_("Victims informed"), N_("Median hours"),
                   N_("90th percentile hours")],
                  chart_title=N_("90th percentile hours (longest bar: 1 week or more)"))
    for rule_id, count, p50, p90 in sorted(source.decision_to_informed(session)):
        small = is_small(count)
        p90_text = NO_RATE if small else _hours_text(p90)
        table.rows.append([rule_id, suppressed(count),
                           NO_RATE if small else _hours_text(p50), p90_text])
        fraction = None if small or p90 is None else min(p90 / 168.0, 1.0)
        table.bars.append(Bar(rule_id, fraction, p90_text))
    return table


def _measure_table(key: str, title: str, caption: str,
                   measures: Sequence[tuple[str, int]], chart_title: str) -> Table:
    table = Table(key, title, caption, [N_("Measure"), N_("Count")], chart_title=chart_title)
    biggest = max((n for _label, n in measures), default=0)
    for label, count in measures:
        table.rows.append([label, suppressed(count)])
        fraction = None if is_small(count) or biggest == 0 else count / biggest
        table.bars.append(Bar(label, fraction, suppressed(count)))
    return table


OBLIGATION_STATUSES = {"met": N_("met on time"), "met_late": N_("met late"),
                       "breached": N_("breached"), "open": N_("open")}
REQUEST_STATUSES = {"submitted": N_("submitted"), "acknowledged": N_("acknowledged"),
                    "completed": N_("completed")}


def _translated(t: Translator, labels: dict[str, str], code: str) -> str:
    """A code's label in the reader's language; a code with no label shows as it is."""
    return t._(labels[code]) if code in labels else code


def _statuses(session: Session, source: Source, rule_ids: Sequence[str],
              t: Translator) -> list[tuple[str, int]]:
    return [(t._("{obligation}: {status}").format(
                obligation=rule_id, status=_translated(t, OBLIGATION_STATUSES, status)),
             int(count))
            for rule_id, status, count in source.obligation_statuses(session, rule_ids)]


def _requests(session: Session, kind: str, t: Translator) -> list[tuple[str, int]]:
    return [(_request_label(t, kind, status, decision), int(count))
            for status, decision, count in repository.requests_by_outcome(session, kind)]


def _request_label(t: Translator, kind: str, status: str, decision: str) -> str:
    status = _translated(t, REQUEST_STATUSES, status)
    if not decision:
        return t._("{kind} request: {status}").format(kind=kind, status=status)
    return t._("{kind} request: {status} ({decision})").format(
        kind=kind, status=status, decision=_translated(t, REQUEST_DECISIONS, decision))


def _vps(session: Session, source: Source, t: Translator) -> Table:
    measures = _statuses(session, source, ["vps-offer"], t) + _requests(session, "vps", t)
    measures.append((t._("VPS made (recorded by the police)"),
                     repository.event_count(session, "vps.recorded")))
    return _measure_table("vps", N_("Victim Personal Statements"),
                          N_("VPS offered (the Code's vps-offer obligation), requested and made"),
                          measures, N_("Count, relative to the largest"))


def _reviews(session: Session, source: Source, t: Translator) -> Table:
    rules = ["vrr-police-ack", "vrr-police-done", "vrr-cps-done"]
    return _measure_table("reviews", N_("Review requests and outcomes"),
                          N_("Victims' Right to Review: deadlines and requests' outcomes"),
                          _statuses(session, source, rules, t) + _requests(session, "vrr", t),
                          N_("Count, relative to the largest"))


def _escalations(session: Session, _source: Source, _t: Translator) -> Table:
    from app.contact import repository as contact_repository

    table = Table("escalations", N_("Escalations and their service level"),
                  N_("Escalations by reason: resolved by the first deadline or not"),
                  [N_("Reason"), N_("Escalations"), N_("Within service level"),
                   N_("Outside service level"), N_("Open, not yet due"), N_("Within")],
                  chart_title=N_("Share within the service level"))
    totals: dict[str, list[int]] = {}
    for reason, _status, met, count in contact_repository.escalation_counts(session):
        row = totals.setdefault(reason, [0, 0, 0])
        row[0 if met is True or met == 1 else 1 if met is False or met == 0 else 2] += count
    for reason, (within, outside, not_due) in sorted(totals.items()):
        text, fraction = rate(within, within + outside)
        table.rows.append([reason, suppressed(within + outside + not_due), suppressed(within),
                           suppressed(outside), suppressed(not_due), text])
        table.bars.append(Bar(reason, fraction, text))
    return table


def _notifications(session: Session, source: Source, _t: Translator) -> Table:
    table = Table("notifications", N_("Notification delivery"),
                  N_("Texts and emails by final status"),
                  [N_("Channel"), N_("Status"), N_("Messages"), N_("Share of channel")],
                  chart_title=N_("Share of the channel's messages"))
    rows = source.notification_delivery(session)
    per_channel: dict[str, int] = {}
    for channel, _status, count in rows:
        per_channel[channel] = per_channel.get(channel, 0) + count
    for channel, status, count in rows:
        text, fraction = rate(count, per_channel[channel])
        table.rows.append([channel, status, suppressed(count), text])
        table.bars.append(Bar(f"{channel} {status}", fraction, text))
    return table


def _feedback(session: Session, _source: Source, t: Translator) -> Table:
    from app.contact import repository as contact_repository

    counts = contact_repository.feedback_counts(session)
    return _measure_table("feedback", N_("Victims' one-tap feedback"),
                          N_("Was it resolved? Victims' answers after an escalation"),
                          [(t._("Yes"), counts["yes"]), (t._("No"), counts["no"]),
                           (t._("Not answered"), counts["unanswered"])],
                          N_("Count, relative to the largest"))


COMPLIANCE_KEYS = {f"compliance-{d.replace('_', '-')}": d for d in repository.DIMENSIONS}
OTHER_BUILDERS: dict[str, Callable[[Session, Source, Translator], Table]] = {
    "decision-to-informed": _decision_to_informed, "vps": _vps, "reviews": _reviews,
    "escalations": _escalations, "notifications": _notifications, "feedback": _feedback}
TABLE_KEYS = (*COMPLIANCE_KEYS, *OTHER_BUILDERS)


def dashboard(session: Session, source: Source | None = None, *,
              t: Translator = ENGLISH) -> list[Table]:
    """Every table, labelled for a reader of `t`'s language."""
    source = source or ROLLUP
    cube = source.compliance_cube(session)
    return ([_compliance(cube, d, t) for d in COMPLIANCE_KEYS.values()]
            + [build(session, source, t) for build in OTHER_BUILDERS.values()])


def table(session: Session, key: str, source: Source | None = None, *,
          t: Translator = ENGLISH) -> Table | None:
    source = source or ROLLUP
    if key in COMPLIANCE_KEYS:
        return _compliance(source.compliance_cube(session), COMPLIANCE_KEYS[key], t)
    build = OTHER_BUILDERS.get(key)
    return build(session, source, t) if build else None


def figures_as_at(session: Session) -> datetime | None:
    """When the roll-up was last refreshed (None: never)."""
    state = repository.rollup_state(session)
    return state.refreshed_at if state else None


def as_csv(table: Table, translate: Callable[[str], str]) -> str:
    """The table exactly as shown (suppressed counts included), one header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([translate(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_safe(cell) for cell in row])
    return out.getvalue()


def _csv_safe(value: Any) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; "<10" and numbers are safe."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
