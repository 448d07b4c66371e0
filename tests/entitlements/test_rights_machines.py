"""Every right's state machine against its transition table: each listed move lands where the
table says; every other (state, trigger) pair is refused with InvalidTransition."""

from __future__ import annotations

import pytest

from app.entitlements import rights as r

N, AV, RQ, AK, DN, DC, EX = (r.NOT_YET, r.AVAILABLE, r.REQUESTED, r.ACKNOWLEDGED, r.COMPLETED,
                             r.DECLINED, r.EXPIRED)

COMMON = {
    (N, "opens"): AV,
    (AV, "request"): RQ,
    (RQ, "acknowledged"): AK,
    (RQ, "completed"): DN,
    (AK, "completed"): DN,
    (AV, "decline"): DC,
    (DC, "reconsider"): AV,
}
LAPSE_UNUSED = {(N, "lapses"): EX, (AV, "lapses"): EX, (DC, "lapses"): EX}
CHANGE = {(RQ, "update"): RQ, (AK, "update"): RQ, (DN, "update"): RQ}

TABLES = {
    r.VPS: {**COMMON, **LAPSE_UNUSED, **CHANGE},
    r.VRR: {**COMMON, **LAPSE_UNUSED},
    r.SPECIAL_MEASURES: {**COMMON, **LAPSE_UNUSED, (AV, "decided"): DN, (RQ, "decided"): DN,
                         (AK, "decided"): DN, (DC, "decided"): DN},
    r.RJ: {**COMMON, (DN, "request"): RQ},
    r.VCS: {**COMMON, **CHANGE, (RQ, "decline"): DC, (AK, "decline"): DC, (DN, "decline"): DC},
    r.SUPPORT: {**COMMON, (DN, "request"): RQ},
}
CASES = [(right, state, trigger, TABLES[right].get((state, trigger)))
         for right in TABLES for state in r.STATES for trigger in r.TRIGGERS]


def test_every_right_has_a_table():
    assert set(TABLES) == set(r.RIGHTS)


@pytest.mark.parametrize(("right", "state", "trigger", "expected"), CASES,
                         ids=[f"{c[0]}:{c[1]}-{c[2]}" for c in CASES])
def test_transition_table(right, state, trigger, expected):
    machine = r.machine(right)
    if expected is None:
        assert not machine.allows(state, trigger)
        with pytest.raises(r.InvalidTransition) as refused:
            machine.next(state, trigger)
        assert (refused.value.right, refused.value.state, refused.value.trigger) == (
            right, state, trigger)
    else:
        assert machine.allows(state, trigger)
        assert machine.next(state, trigger) == expected


def test_terminal_states_cannot_be_left_by_the_victim():
    for right in (r.VRR, r.SPECIAL_MEASURES):
        for trigger in r.VICTIM_TRIGGERS:
            assert not r.machine(right).allows(r.EXPIRED, trigger)
            assert not r.machine(right).allows(r.COMPLETED, trigger)


def test_unknown_right_is_refused():
    with pytest.raises(ValueError, match="unknown right"):
        r.machine("parole")
