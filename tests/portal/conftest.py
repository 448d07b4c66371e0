"""Fixtures shared by the portal's tests."""

from __future__ import annotations

import pytest

from tests.agency_client import AgencyClient


@pytest.fixture
def agencies(registry, police) -> dict[str, AgencyClient]:
    court = registry.add("hmcts-snaresbrook", "court", "Snaresbrook Crown Court")
    wcu = registry.add("wcu-london-north", "witness_care", "Witness Care Unit London North")
    support = registry.add("victim-support-london", "support_service", "Victim Support London")
    cps = registry.add("cps-london", "cps", "CPS London")
    return {"police": police, "court": court, "wcu": wcu, "support": support, "cps": cps}
