"""The demo's agencies: one of each kind a London case meets, two courts."""

from __future__ import annotations

from dataclasses import dataclass

MET = "met-police"
CPS = "cps-london"
WCU = "wcu-london-north"
MAGS = "hmcts-thames-magistrates"
CROWN = "hmcts-snaresbrook"
PROBATION = "probation-london"
SUPPORT = "victim-support-london"


@dataclass(frozen=True)
class DemoAgency:
    agency_id: str
    kind: str
    name: str


DEMO_AGENCIES: tuple[DemoAgency, ...] = (
    DemoAgency(MET, "police", "Metropolitan Police Service"),
    DemoAgency(CPS, "cps", "Crown Prosecution Service London"),
    DemoAgency(WCU, "witness_care", "Witness Care Unit, London North"),
    DemoAgency(MAGS, "court", "Thames Magistrates' Court"),
    DemoAgency(CROWN, "court", "Snaresbrook Crown Court"),
    DemoAgency(PROBATION, "probation", "Probation Service, London"),
    DemoAgency(SUPPORT, "support_service", "Victim Support London"),
)
