"""Fixtures of the ACD edge tests: the ACD on the test runtime, callers and counsellors, and
TwiML parsed with ElementTree."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from acd.model import CounsellorState, WaitingCaller
from acd.store import Acd
from helpline.clock import FrozenClock, to_ms
from helpline.runtime import Runtime
from tests.conftest import PUBLIC, TwilioClient

QUEUE_SID = "QU" + "a" * 32


def sid(n: int, prefix: str = "CA") -> str:
    """A well-formed Twilio SID."""
    return f"{prefix}{n:032x}"


@dataclass
class Twiml:
    """A TwiML answer: raw body and its parsed root."""

    body: str
    root: ET.Element

    def verbs(self) -> list[str]:
        """Top-level verb names in order."""
        return [el.tag for el in self.root]

    def says(self) -> list[str]:
        """Every <Say> text, nested ones included."""
        return [el.text or "" for el in self.root.iter("Say")]

    def spoken(self) -> str:
        """All the <Say> texts as one string."""
        return " ".join(self.says())

    def find(self, path: str) -> ET.Element:
        """The element at ``path``; fails the test when absent."""
        el = self.root.find(path)
        assert el is not None, f"no {path} in {self.body}"
        return el


def twiml(response: Any) -> Twiml:
    """Parse a TwiML response (200, XML, root <Response>)."""
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/xml"
    body = response.get_data(as_text=True)
    root = ET.fromstring(body)  # noqa: S314 - our own output
    assert root.tag == "Response"
    return Twiml(body, root)


@pytest.fixture
def acd(runtime: Runtime) -> Acd:
    """The ACD on the test Redis and clock."""
    return Acd(runtime)


@pytest.fixture
def counsellor(acd: Acd) -> Callable[..., str]:
    """Add a counsellor (available by default)."""

    def make(
        cid: str,
        state: str = "available",
        skills: tuple[str, ...] = ("psychologist", "lawyer"),
        languages: tuple[str, ...] = ("fr", "en"),
    ) -> str:
        acd.add_counsellor(cid, cid.title(), skills, languages, f"client:{cid}")
        if state != "offline":
            acd.set_state(cid, CounsellorState.parse(state), reason="lunch")
        return cid

    return make


@pytest.fixture
def caller(acd: Acd, runtime: Runtime, clock: FrozenClock) -> Callable[..., str]:
    """A caller as the voice flow leaves them: a call record, then in the ACD queue."""

    def make(
        n: int,
        *,
        platform: str = "instagram",
        caller_type: str = "young",
        language: str = "fr",
        consent: str = "no",
        priority: int = 0,
    ) -> str:
        call_sid = sid(n)
        now = clock.now()
        runtime.redis.hset(
            runtime.keys.call(call_sid),
            mapping={
                "call_sid": call_sid,
                "caller": f"h:{n:032x}",
                "platform": platform,
                "language": language,
                "caller_type": caller_type,
                "recording_consent": consent,
                "created_at": to_ms(now),
                "step": "queued",
            },
        )
        result = acd.enqueue(
            WaitingCaller(
                call_sid=call_sid,
                platform=platform,
                caller_type=caller_type,
                language=language,
                skill=runtime.config.acd.skill_needed(caller_type),
                priority=priority,
                enqueued_at=now,
            )
        )
        assert result.queued, result
        return call_sid

    return make


@pytest.fixture
def wait(twilio: TwilioClient) -> Callable[..., Twiml]:
    """Twilio asking the waitUrl for ``call_sid`` after ``queue_time`` seconds."""

    def ask(call_sid: str, queue_time: int = 0, position: int = 1) -> Twiml:
        return twiml(
            twilio.post(
                "/voice/queue/wait",
                {
                    "CallSid": call_sid,
                    "QueueSid": QUEUE_SID,
                    "QueueTime": queue_time,
                    "QueuePosition": position,
                    "AvgQueueTime": 30,
                    "CurrentQueueSize": 3,
                    "Direction": "inbound",
                },
            )
        )

    return ask


def redis_down(*args: object, **kwargs: object) -> None:
    """Stands in for anything that would reach Redis while it is down."""
    raise ConnectionError("redis down")


def offer_url(rid: str, suffix: str = "") -> str:
    """Absolute URL of an offer route, as Twilio is told it."""
    return f"{PUBLIC}/voice/offer/{rid}{suffix}"
