"""Cases for the staff tests: opened by the police, with officers assigned by email."""

from __future__ import annotations

from tests.agency_client import AgencyClient, at
from tests.portal.helpers import ALEX, CHRIS, open_case

OLIVIA = "olivia.oic@example.com"
OMAR = "omar.oic@example.com"
SUE = "sue.supervisor@example.com"
REF_A = "01/80001/26"  # Olivia's case, supervised by Sue
REF_B = "01/80002/26"  # Omar's case


def assign(police: AgencyClient, reference: str, role: str, name: str, email: str,
           day: str = "2026-11-20", hhmm: str = "09:00") -> None:
    police.send_ok("officer.assigned", reference, {"role": role, "name": name, "email": email},
                   occurred_at=at(day, hhmm))


def two_cases(police: AgencyClient) -> None:
    open_case(police, REF_A, [ALEX])
    open_case(police, REF_B, [CHRIS])
    assign(police, REF_A, "oic", "DC Olivia Example", OLIVIA)
    assign(police, REF_A, "supervisor", "DS Sue Example", SUE)
    assign(police, REF_B, "oic", "DC Omar Example", OMAR)
