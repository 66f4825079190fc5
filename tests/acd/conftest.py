"""Fixtures of the ACD tests: an `Acd` on the test runtime, and small builders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from acd.model import CounsellorState, WaitingCaller
from acd.store import Acd
from helpline.clock import FrozenClock
from helpline.runtime import Runtime


@pytest.fixture
def acd(runtime: Runtime) -> Acd:
    """The ACD on the test Redis and the frozen clock."""
    return Acd(runtime)


def caller(
    sid: str,
    when: datetime,
    *,
    platform: str = "instagram",
    caller_type: str = "young",
    language: str = "fr",
    skill: str = "psychologist",
    priority: int = 0,
) -> WaitingCaller:
    """A waiting caller entering the queue at ``when``."""
    return WaitingCaller(
        call_sid=sid,
        platform=platform,
        caller_type=caller_type,
        language=language,
        skill=skill,
        priority=priority,
        enqueued_at=when,
    )


@pytest.fixture
def make_counsellor(acd: Acd, clock: FrozenClock) -> Callable[..., str]:
    """Add a counsellor, available by default (idle-since = now)."""

    def make(
        cid: str,
        skills: tuple[str, ...] = ("psychologist",),
        languages: tuple[str, ...] = ("fr",),
        state: str = "available",
    ) -> str:
        acd.add_counsellor(cid, cid.title(), skills, languages, f"client:{cid}")
        if state != "offline":
            acd.set_state(cid, CounsellorState.parse(state), reason="lunch")
        return cid

    return make
