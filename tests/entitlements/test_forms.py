"""The rights' forms (app/entitlements/schemas.py): every error is a whole sentence that
translates, and a too-long answer names its real limit."""

from __future__ import annotations

import pytest

from app.core.i18n import translator
from app.entitlements import rights as r
from app.entitlements.schemas import (
    LIMITS,
    TOO_LONG,
    EntitlementError,
    details_for,
    parse_vps_draft,
)


def test_each_too_long_message_names_its_fields_limit():
    assert set(TOO_LONG) == set(LIMITS)
    for field, message in TOO_LONG.items():
        assert f"{LIMITS[field]:,}" in message


@pytest.mark.parametrize("right,field,form", [
    (r.VPS, "statement", {"reading": "not_read"}),
    (r.RJ, "note", {}),
    (r.SUPPORT, "needs", {"consent": "yes"}),
])
def test_an_answer_one_character_too_long_is_refused_in_english_and_welsh(right, field, form):
    with pytest.raises(EntitlementError) as refused:
        details_for(right, r.REQUEST, form | {field: "x" * (LIMITS[field] + 1)})
    message = refused.value.errors[field]
    assert message == TOO_LONG[field]
    assert translator("cy")._(message) != message
    details_for(right, r.REQUEST, form | {field: "x" * LIMITS[field]})  # at the limit: fine


def test_a_draft_may_be_empty_but_not_too_long():
    assert parse_vps_draft({}) == ("", "")
    with pytest.raises(EntitlementError):
        parse_vps_draft({"statement": "x" * (LIMITS["statement"] + 1)})
