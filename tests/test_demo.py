"""The demo's own rules (the demo as a whole runs in tests/e2e through the same start_local)."""

from __future__ import annotations

import tomllib

from acd.model import CounsellorState
from acd.store import Acd
from helpline.demo import MISSED_BACK_AFTER_S, demo_config_text, duty_manager


def test_the_demo_duty_manager_puts_a_missed_counsellor_back_after_two_minutes(
    runtime, clock
) -> None:
    """break('missed') is where duty managers see a miss; in the demo one steps in after
    MISSED_BACK_AFTER_S, and leaves other breaks alone."""
    acd = Acd(runtime)
    acd.add_counsellor("amina", "Amina", ["psychologist"], ["fr"], "client:amina")
    acd.add_counsellor("bruno", "Bruno", ["psychologist"], ["fr"], "client:bruno")
    acd.set_state("amina", CounsellorState.BREAK, "missed")
    acd.set_state("bruno", CounsellorState.BREAK, "pause")
    clock.advance(MISSED_BACK_AFTER_S - 1)
    assert duty_manager(runtime) == []
    clock.advance(1)
    assert duty_manager(runtime) == ["amina"]
    assert acd.get_counsellor("amina").state is CounsellorState.AVAILABLE
    assert acd.get_counsellor("bruno").state is CounsellorState.BREAK


def test_the_demo_line_is_open_around_the_clock() -> None:
    """The demo's clock runs fast through the night: every day is open 00:00-24:00."""
    hours = tomllib.loads(demo_config_text())["hours"]
    assert {tuple(v) for v in hours.values()} == {("00:00-24:00",)}
