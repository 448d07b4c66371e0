"""A case of the police and the CPS with two victims (Alex and Sam), under the test module's
crime reference `REF`: `cast` opened on a fixed day, `recent_cast` an hour ago (for a test whose
Victims' Code deadlines must still be running)."""

from __future__ import annotations

import pytest

from tests.agency_client import AgencyClient, later, recent
from tests.portal.helpers import ALEX, SAM, open_case


def _cast(reference: str, registry, police, opened_at: str) -> dict[str, AgencyClient]:  # type: ignore[no-untyped-def]
    cps = registry.add("cps-london", "cps", "CPS London")
    open_case(police, reference, [ALEX, SAM], occurred_at=opened_at)
    police.send_ok("case.agency_linked", reference, {"agency_id": "cps-london"},
                   occurred_at=later(opened_at, 5))
    return {"police": police, "cps": cps}


@pytest.fixture
def cast(request: pytest.FixtureRequest, registry, police) -> dict[str, AgencyClient]:  # type: ignore[no-untyped-def]
    return _cast(request.module.REF, registry, police, "2026-11-19T19:00:00Z")


@pytest.fixture
def recent_cast(request: pytest.FixtureRequest, registry, police) -> dict[str, AgencyClient]:  # type: ignore[no-untyped-def]
    return _cast(request.module.REF, registry, police, recent(60))
