"""Fixtures and helpers of the voice-flow tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import pytest

import acd.service
from acd.model import EnqueueResult, GoneResult, Outcome, WaitingCaller
from helpline.runtime import Runtime

PUBLIC = "https://helpline.test"
CALLER_NUMBER = "+33612345678"
LINE_NUMBER = "+33185083018"


def sid(n: int = 1) -> str:
    """A well-formed CallSid."""
    return f"CA{n:032x}"


def call_form(n: int = 1, **extra: Any) -> dict[str, Any]:
    """What Twilio posts to the Voice URL for an inbound phone call."""
    form = {
        "CallSid": sid(n),
        "AccountSid": "AC" + "0" * 32,
        "From": CALLER_NUMBER,
        "Caller": CALLER_NUMBER,
        "To": LINE_NUMBER,
        "Called": LINE_NUMBER,
        "Direction": "inbound",
        "CallStatus": "ringing",
    }
    form.update(extra)
    return form


def twiml(response: Any) -> ET.Element:
    """The TwiML document of a 200 answer, parsed."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data())  # noqa: S314 - our own output
    assert root.tag == "Response"
    return root


def verbs(root: ET.Element) -> list[str]:
    """The top-level verbs in order."""
    return [child.tag for child in root]


def said(root: ET.Element) -> str:
    """Everything said, in order, including inside <Gather>."""
    return " ".join((el.text or "") for el in root.iter("Say"))


@dataclass
class FakeAcd:
    """Stands in for the ACD's entry points and records how the voice flow called them."""

    result: EnqueueResult = field(default_factory=lambda: EnqueueResult(queued=True, position=1))
    enqueued: list[WaitingCaller] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    outcomes: list[tuple[str, Outcome]] = field(default_factory=list)

    def enqueue(self, runtime: Runtime, caller: WaitingCaller) -> EnqueueResult:
        self.enqueued.append(caller)
        return self.result

    def caller_gone(self, runtime: Runtime, call_sid: str) -> GoneResult:
        self.gone.append(call_sid)
        return GoneResult(was_waiting=False, outcome_recorded=False)

    def record_outcome(
        self, runtime: Runtime, call_sid: str, outcome: Outcome, **fields: object
    ) -> bool:
        self.outcomes.append((call_sid, outcome))
        return True


@pytest.fixture
def fake_acd(monkeypatch: pytest.MonkeyPatch) -> FakeAcd:
    """The ACD replaced by a recorder (the contract's three functions)."""
    fake = FakeAcd()
    monkeypatch.setattr(acd.service, "enqueue", fake.enqueue)
    monkeypatch.setattr(acd.service, "caller_gone", fake.caller_gone)
    monkeypatch.setattr(acd.service, "record_outcome", fake.record_outcome)
    return fake
