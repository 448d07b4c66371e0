"""A journey's rows, as the real receiver and projection would have written them.

Each event body goes through the receiver's own parser (`app.agencies.service.parse_event`: the
envelope and the type's schema, so the stored `data` is exactly what ingestion stores), and the
case record is built with the projection's own pure pieces (`stage_after`, `_set_fields` last-
writer-wins by `version_of`, `_victim_fields`, `_hearing_time`, `_suspect_after_outcome`, the
timeline's parameter rules). What needs a database session in the real code (locking, linking,
upserts) is mirrored here in memory, for one case at a time. An event type the projection
applies but this mirror does not know is refused, so a new projection rule cannot be skipped
silently; tests/bench/test_generate.py compares the result with the real receiver's, case by
case.

Not written here (see bench/generate/run.py): obligations (the real engine recomputes them for
a sample of cases after the load), notifications (nothing on the case page reads them), portal
rows (sessions and public ids are made by the portal's own code when a victim signs in).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import orjson

from app.agencies import catalogue
from app.agencies.service import _reported_at, parse_event
from app.cases import projection
from app.cases.service import _TIMELINE_DROPS
from bench.generate.journeys import AGENCY_IDS, CaseJourney, stamp, webhook_id

# Columns written per table, in COPY order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "case": ("id", "crime_reference", "crime_type", "offence_group", "borough", "reported_at",
             "stage", "suspect_status", "bail_conditions", "bail_return_date",
             "licence_conditions", "release", "versions", "opened_at", "created_at",
             "updated_at"),
    "victim": ("id", "case_pk", "victim_ref", "given_name", "family_name", "date_of_birth",
               "email", "mobile", "preferred_language", "enhanced_categories", "sms_allowed",
               "email_allowed", "discreet", "quiet_from", "quiet_to", "needs", "version",
               "created_at"),
    "case_agency": ("id", "case_pk", "agency_pk", "linked_at", "linked_by_agency_pk"),
    "received_event": ("id", "agency_pk", "webhook_id", "body_sha256", "type",
                       "crime_reference", "case_pk", "occurred_at", "received_at", "data"),
    "officer_assignment": ("id", "case_pk", "agency_pk", "role", "name", "rank", "team", "email",
                           "phone", "working_pattern", "assigned_at", "version", "event_pk"),
    "hearing": ("id", "case_pk", "hearing_id", "hearing_type", "court", "address", "starts_at",
                "window_from", "window_to", "status", "outcome", "remand", "versions"),
    "timeline_entry": ("id", "case_pk", "event_pk", "event_id", "type", "occurred_at",
                       "agency_pk", "victim_pk", "params", "created_at"),
}
TABLES = tuple(COLUMNS)
_CASE_FIELDS = ("stage", "suspect_status", "bail_conditions", "bail_return_date",
                "licence_conditions", "release")
_HEARING_FIELDS = ("hearing_type", "court", "address", "starts_at", "window_from", "window_to",
                   "status", "outcome", "remand")


# --- COPY text format -------------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _escaped(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def _json(value: Any) -> str:
    return _escaped(orjson.dumps(value).decode())


_TEXT = {str: _escaped, int: str, float: str, bool: lambda v: "t" if v else "f",
         datetime: datetime.isoformat, date: date.isoformat, dict: _json, list: _json,
         type(None): lambda _v: "\\N"}


def copy_line(values: tuple[Any, ...]) -> str:
    """One row in COPY's text format."""
    return "\t".join([_TEXT[type(v)](v) for v in values]) + "\n"


# --- ids and agencies -------------------------------------------------------------------------

# Row ids are a function of the case number, so that any chunk of cases can be built alone
# (in parallel): case n owns ids n * SLOTS[table] + 0 .. SLOTS[table] - 1 of each table. The gaps
# are harmless (sequences are set past the highest id afterwards, as after any rollback).
SLOTS = {"case": 1, "victim": 4, "case_agency": 8, "officer_assignment": 8, "hearing": 4,
         "received_event": 64, "timeline_entry": 64}


class Ids:
    """The ids of one case's rows."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.used = dict.fromkeys(TABLES, 0)

    def take(self, table: str) -> int:
        used = self.used[table]
        if used >= SLOTS[table]:
            raise ValueError(f"case {self.n} needs more than {SLOTS[table]} {table} rows")
        self.used[table] = used + 1
        return self.n * SLOTS[table] + used


@dataclass(frozen=True)
class AgencyRow:
    pk: int
    agency_id: str
    name: str


# --- one case ---------------------------------------------------------------------------------

@dataclass
class CaseRows:
    lines: dict[str, list[str]]
    events: int
    stage: str


class _Case:
    """One case's rows while its events are applied, oldest first."""

    def __init__(self, pk: int, crime_reference: str, data: dict[str, Any],
                 occurred_at: datetime, received_at: datetime) -> None:
        self.pk = pk
        self.crime_reference = crime_reference
        self.row = SimpleNamespace(
            crime_type=data["crime_type"], offence_group=data["offence_group"],
            borough=data["borough"], reported_at=_reported_at(data["reported_at"]),
            stage="investigation", suspect_status=None, bail_conditions=[],
            bail_return_date=None, licence_conditions=None, release={}, versions={},
            opened_at=occurred_at, created_at=received_at, updated_at=received_at)
        self.victims: dict[str, SimpleNamespace] = {}
        self.links: dict[int, tuple[datetime, int]] = {}
        self.hearings: dict[str, SimpleNamespace] = {}
        self.officers: list[tuple[Any, ...]] = []

    def link(self, agency_pk: int, at: datetime, by_agency_pk: int) -> None:
        self.links.setdefault(agency_pk, (at, by_agency_pk))  # first link wins (upsert-ignore)

    def hearing(self, hearing_id: str) -> SimpleNamespace:
        if hearing_id not in self.hearings:
            self.hearings[hearing_id] = SimpleNamespace(
                **dict.fromkeys(_HEARING_FIELDS), versions={})
            self.hearings[hearing_id].status = "scheduled"
        return self.hearings[hearing_id]


@dataclass(frozen=True)
class _Event:
    pk: int
    type: str
    occurred_at: datetime
    webhook_id: str
    agency: AgencyRow
    data: dict[str, Any]
    version: str


def _victims(c: _Case, e: _Event, ids: Ids, received_at: datetime) -> None:
    c.link(e.agency.pk, e.occurred_at, e.agency.pk)
    for victim in e.data["victims"]:
        if victim.get("representative"):
            raise ValueError("the bulk path does not write representatives")
        fields = projection._victim_fields(victim, c.row.offence_group)
        c.victims.setdefault(victim["victim_ref"], SimpleNamespace(
            id=ids.take("victim"), version=e.version, created_at=received_at, **fields))


def _assign(default_role: str):  # type: ignore[no-untyped-def]
    def assign(c: _Case, e: _Event, ids: Ids, received_at: datetime) -> None:
        d = e.data
        c.officers.append((ids.take("officer_assignment"), c.pk, e.agency.pk,
                           d.get("role", default_role), d["name"], d.get("rank"), d.get("team"),
                           d.get("email"), d.get("phone"), d.get("working_pattern"),
                           e.occurred_at, e.version, e.pk))
    return assign


def _linked(agencies: dict[str, AgencyRow]):  # type: ignore[no-untyped-def]
    def link(c: _Case, e: _Event, ids: Ids, received_at: datetime) -> None:
        c.link(agencies[e.data["agency_id"]].pk, e.occurred_at, e.agency.pk)
    return link


def _suspect(status: str):  # type: ignore[no-untyped-def]
    def apply(c: _Case, e: _Event, ids: Ids, received_at: datetime) -> None:
        fields: dict[str, Any] = {"suspect_status": status}
        if status == "bailed":
            fields |= {"bail_conditions": e.data.get("bail_conditions") or [],
                       "bail_return_date": projection._as_date(e.data.get("return_date"))}
        elif status == "released_under_investigation":
            fields |= {"bail_conditions": [], "bail_return_date": None}
        projection._set_fields(c.row, fields, e.version)
    return apply


def _hearing_scheduled(c: _Case, e: _Event, ids: Ids, received_at: datetime) -> None:
    d = e.data
    fields = {"hearing_type": d["hearing_type"], "court": d["court"],
              "address": d.get("address"), "status": "scheduled", **projection._hearing_time(d)}
    projection._set_fields(c.hearing(d["hearing_id"]), fields, e.version)


def _hearing_changed(c: _Case, e: _Event, ids: Ids, received_at: datetime) -> None:
    d = e.data
    fields = {k: d[k] for k in ("court", "address") if d.get(k)}
    if d.get("court"):
        fields["address"] = d.get("address")
    if d.get("starts_at") or d.get("window"):
        fields |= projection._hearing_time(d)
    projection._set_fields(c.hearing(d["hearing_id"]), fields, e.version)


def _hearing_outcome(c: _Case, e: _Event, ids: Ids, received_at: datetime) -> None:
    d = e.data
    projection._set_fields(c.hearing(d["hearing_id"]), {
        "status": "concluded", "outcome": d["outcome"], "remand": d.get("remand")}, e.version)
    projection._set_fields(c.row, projection._suspect_after_outcome(d), e.version)


def _sentenced(c: _Case, e: _Event, ids: Ids, received_at: datetime) -> None:
    fields: dict[str, Any] = {"suspect_status": "sentenced", "bail_conditions": []}
    if e.data.get("licence_conditions"):
        fields["licence_conditions"] = projection._conditions_text(e.data["licence_conditions"])
    projection._set_fields(c.row, fields, e.version)


def _mirror(agencies: dict[str, AgencyRow]) -> dict[str, Any]:
    return {
        "case.opened": _victims,
        "officer.assigned": _assign("oic"),
        "witness_care.assigned": _assign("witness_care"),
        "vlo.assigned": _assign("vlo"),
        "case.agency_linked": _linked(agencies),
        "suspect.arrested": _suspect("arrested"),
        "suspect.interviewed": _suspect("interviewed"),
        "suspect.bailed": _suspect("bailed"),
        "suspect.released_under_investigation": _suspect("released_under_investigation"),
        "hearing.scheduled": _hearing_scheduled,
        "hearing.changed": _hearing_changed,
        "hearing.outcome": _hearing_outcome,
        "sentence.passed": _sentenced,
    }


class Builder:
    """Turns journeys into COPY lines, giving every row its id."""

    def __init__(self, agencies: dict[str, AgencyRow], prefix: str = "LDN") -> None:
        self.by_key = {key: agencies[agency_id] for key, agency_id in AGENCY_IDS.items()}
        self.by_id = agencies
        self.prefix = prefix
        self.mirror = _mirror(agencies)
        self._parsed: dict[bytes, dict[str, Any]] = {}

    def case_rows(self, journey: CaseJourney) -> CaseRows:
        out: dict[str, list[str]] = {table: [] for table in TABLES}
        self.ids = Ids(journey.n)
        case: _Case | None = None
        for i, step in enumerate(journey.steps):
            agency = self.by_key[step.agency]
            hook = webhook_id(self.prefix, journey.n, i)
            body = orjson.dumps({"type": step.type, "occurred_at": stamp(step.occurred_at),
                                 "crime_reference": journey.crime_reference,
                                 "data": step.data})
            data = self._validated(step.type, step.data, body)
            occurred = step.occurred_at
            # a receipt a few seconds to minutes after the event (agencies send promptly)
            received = occurred + timedelta(seconds=2 + (journey.n * 7919 + i * 104729) % 600)
            event = _Event(self.ids.take("received_event"), step.type, occurred, hook,
                           agency, data, projection.version_of(occurred, agency.agency_id, hook))
            if case is None:
                if event.type != "case.opened":
                    raise ValueError(f"case {journey.n}: the first event must be case.opened")
                case = _Case(self.ids.take("case"), journey.crime_reference, data, occurred,
                             received)
            self._apply(case, event, received)
            case.row.updated_at = received
            out["received_event"].append(copy_line((
                event.pk, agency.pk, hook, hashlib.sha256(body).hexdigest(), event.type,
                journey.crime_reference, case.pk, occurred, received, data)))
            out["timeline_entry"].append(copy_line(self._timeline(case, event, received)))
        if case is None:
            return CaseRows(out, 0, "")
        self._case_lines(case, out)
        return CaseRows(out, len(journey.steps), case.row.stage)

    def _validated(self, event_type: str, raw: dict[str, Any], body: bytes) -> dict[str, Any]:
        """`data` as the receiver stores it: its own parser's output. Parsing is a pure
        function of the body, so one parse serves every event with the same type and data
        (most updates repeat); a case.opened (its victims) is always parsed."""
        key = event_type.encode() + orjson.dumps(raw)
        data = self._parsed.get(key)
        if data is None:
            _envelope, data = parse_event(body.decode())
            if len(self._parsed) > 100_000:
                self._parsed.clear()
            self._parsed[key] = data
        return data

    def _apply(self, case: _Case, event: _Event, received: datetime) -> None:
        stage = projection.stage_after(event.type, event.data)
        if stage is not None:
            projection._set_fields(case.row, {"stage": stage}, event.version)
        mirrored = self.mirror.get(event.type)
        if mirrored is not None:
            mirrored(case, event, self.ids, received)
        elif event.type in projection.APPLIERS:
            raise ValueError(f"the bulk path does not mirror the projection of {event.type}")

    def _timeline(self, case: _Case, event: _Event, received: datetime) -> tuple[Any, ...]:
        drops = _TIMELINE_DROPS.get(event.type, ())
        params = {k: v for k, v in event.data.items() if k not in drops}
        if event.type == "case.agency_linked":
            params["agency_name"] = self.by_id[event.data["agency_id"]].name
        victim_ref = catalogue.victim_ref_of(event.type, event.data)
        victim_pk = case.victims[victim_ref].id if victim_ref is not None else None
        return (self.ids.take("timeline_entry"), case.pk, event.pk, event.webhook_id,
                event.type, event.occurred_at, event.agency.pk, victim_pk, params, received)

    def _case_lines(self, case: _Case, out: dict[str, list[str]]) -> None:
        r = case.row
        out["case"].append(copy_line((
            case.pk, case.crime_reference, r.crime_type, r.offence_group, r.borough,
            r.reported_at, *(getattr(r, f) for f in _CASE_FIELDS), r.versions, r.opened_at,
            r.created_at, r.updated_at)))
        for ref, v in case.victims.items():
            out["victim"].append(copy_line((
                v.id, case.pk, ref, v.given_name, v.family_name, v.date_of_birth, v.email,
                v.mobile, v.preferred_language, v.enhanced_categories, v.sms_allowed,
                v.email_allowed, v.discreet, v.quiet_from, v.quiet_to, v.needs, v.version,
                v.created_at)))
        for agency_pk, (at, by) in case.links.items():
            out["case_agency"].append(copy_line((self.ids.take("case_agency"), case.pk,
                                                 agency_pk, at, by)))
        out["officer_assignment"].extend(copy_line(row) for row in case.officers)
        for hearing_id, h in case.hearings.items():
            out["hearing"].append(copy_line((
                self.ids.take("hearing"), case.pk, hearing_id,
                *(getattr(h, f) for f in _HEARING_FIELDS), h.versions)))
