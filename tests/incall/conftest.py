"""In-call fixtures: the app with ``incall`` registered, a Twilio transport that knows
Conference Participants, a counsellor on a live call, logged-in sessions."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from twilio.http.response import Response

from acd.model import CounsellorState, WaitingCaller
from acd.store import Acd
from helpline.clock import FrozenClock, to_ms
from helpline.privacy import pseudonymise
from helpline.runtime import Runtime
from tests.console.conftest import (  # noqa: F401 - fixtures re-exported for this folder
    PASSWORD,
    Session,
    acd,
    amina,
    counsellor,
    manager,
    open_session,
    users,
)
from tests.twilio_fake import ACCOUNT, FakeTwilioHttp

CALLER_NUMBER = "+33612345678"
CALLER_SID = "CA" + "7" * 32
COUNSELLOR_LEG = "CA" + "c" * 32
CONFERENCE_SID = "CF" + "f" * 32
_PARTICIPANTS = re.compile(r"/Conferences/([^/]+)/Participants(?:/(CA\w+))?\.json$")


class ParticipantsHttp(FakeTwilioHttp):
    """The shared fake, answering the Conference Participants resource like Twilio."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        """Participants create/update answer a participant; everything else as the fake."""
        answer = super().request(method, url, *args, **kwargs)
        m = _PARTICIPANTS.search(url)
        if m is None or answer.status_code >= 400:
            return answer
        body = self.requests[-1].data
        call_sid = m.group(2) or f"CA{len(self.requests):032d}"
        participant = {
            "account_sid": ACCOUNT,
            "call_sid": call_sid,
            "conference_sid": CONFERENCE_SID,
            "muted": str(body.get("Muted", "false")).lower() == "true",
            "coaching": str(body.get("Coaching", "false")).lower() == "true",
            "call_sid_to_coach": body.get("CallSidToCoach"),
            "status": "queued",
        }
        return Response(201 if m.group(2) is None else 200, json.dumps(participant))

    def participants(self) -> list[Any]:
        """Participant requests (create and update) the application made."""
        return [r for r in self.requests if _PARTICIPANTS.search(r.url)]


@pytest.fixture
def twilio_http() -> ParticipantsHttp:
    """Records REST requests; knows Conference Participants."""
    return ParticipantsHttp()


def live_call(
    runtime: Runtime, store: Acd, clock: FrozenClock, counsellor_id: str = "amina"
) -> str:
    """``counsellor_id`` (available) is offered a caller and accepts: the call's rid."""
    store.set_state(counsellor_id, CounsellorState.AVAILABLE)
    runtime.redis.hset(
        runtime.keys.call(CALLER_SID),
        mapping={
            "call_sid": CALLER_SID,
            "caller": pseudonymise(runtime.settings.secret_key, CALLER_NUMBER),
            "platform": "instagram",
            "channel": "app",
            "language": "fr",
            "caller_type": "young",
            "created_at": str(to_ms(clock.now())),
        },
    )
    assert store.enqueue(
        WaitingCaller(CALLER_SID, "instagram", "young", "fr", "psychologist", 60, clock.now())
    ).queued
    clock.advance(10)
    reservation = store.reserve_next()
    assert reservation is not None and reservation.counsellor_id == counsellor_id
    assert store.offer_placed(reservation.id, COUNSELLOR_LEG)
    assert store.accept(reservation.id).value == "accepted"
    return reservation.id


@pytest.fixture
def other_counsellor(app: Flask, users, acd: Acd) -> Session:  # noqa: F811
    """Bruno, another counsellor, logged in."""
    from console.users import Role

    acd.add_counsellor("bruno", "Bruno C.", ["psychologist"], ["fr"], "client:bruno")
    users.add("bruno", Role.COUNSELLOR, PASSWORD)
    return open_session(app, "bruno")
