"""A case of the police and the CPS with two victims (Alex and Sam), under the test module's
crime reference `REF`."""

from __future__ import annotations

import pytest

from tests.agency_client import AgencyClient
from tests.portal.helpers import ALEX, SAM, open_case


@pytest.fixture
def cast(request: pytest.FixtureRequest, registry, police) -> dict[str, AgencyClient]:  # type: ignore[no-untyped-def]
    reference = request.module.REF
    cps = registry.add("cps-london", "cps", "CPS London")
    open_case(police, reference, [ALEX, SAM])
    police.send_ok("case.agency_linked", reference, {"agency_id": "cps-london"},
                   occurred_at="2026-11-19T19:05:00Z")
    return {"police": police, "cps": cps}
