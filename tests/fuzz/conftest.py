"""Fuzz fixtures: an app with known state to aim at (a caller queued and offered to a
counsellor), and the ids the strategies mix into arbitrary input."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from werkzeug.security import generate_password_hash

import console.users
from acd.model import CounsellorState
from acd.store import Acd
from console.users import Role, Users
from helpline.runtime import Runtime
from tests.conftest import TwilioClient
from tests.console.conftest import PASSWORD, Session, open_session

CALLER = "+33612345678"


def call_sid(n: int) -> str:
    """A well-formed CallSid (with hex letters: the fake Twilio's own are decimal digits)."""
    return f"CA{0xFACE0000 + n:032x}"


@dataclass(frozen=True)
class Known:
    """Ids of live state: the fuzzers mix them with garbage to reach the deeper branches."""

    call_sid: str  # a caller offered to amina
    rid: str  # that offer's reservation
    counsellor_call_sid: str  # amina's ringing leg
    queued_sid: str  # a second caller, waiting


@pytest.fixture
def known(runtime: Runtime, twilio: TwilioClient) -> Known:
    """Amina is being offered caller 1; caller 2 waits behind."""
    acd = Acd(runtime)
    acd.add_counsellor("amina", "Amina B.", ["psychologist"], ["fr"], "client:amina")
    acd.set_state("amina", CounsellorState.AVAILABLE)
    for n in (1, 2):
        form = {"CallSid": call_sid(n), "From": CALLER, "To": "+33185083018"}
        for path in ("/voice/incoming", "/voice/menu/language", "/voice/menu/consent"):
            assert twilio.post(path, form).status_code == 200
        answer = twilio.post("/voice/menu/caller_type", {**form, "Digits": "1"})
        assert b"<Enqueue" in answer.data, answer.data
    offers = runtime.redis.zrange(runtime.keys.offers, 0, -1)
    assert len(offers) == 1, offers
    reservation = acd.get_reservation(offers[0])
    assert reservation is not None and reservation.counsellor_call_sid
    return Known(
        call_sid=reservation.call_sid,
        rid=reservation.id,
        counsellor_call_sid=reservation.counsellor_call_sid,
        queued_sid=call_sid(2) if reservation.call_sid == call_sid(1) else call_sid(1),
    )


@pytest.fixture
def users(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Users:
    """Console users, their passwords hashed cheaply: the fuzzers log in dozens of times, and
    scrypt's cost is the point in production, not here."""
    monkeypatch.setattr(
        console.users,
        "generate_password_hash",
        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1000"),
    )
    return Users(runtime)


@pytest.fixture
def manager(app, users: Users) -> Session:
    """Claire, a duty manager, logged in."""
    users.add("claire", Role.MANAGER, PASSWORD)
    return open_session(app, "claire")


@pytest.fixture
def counsellor(app, users: Users, known: Known) -> Session:
    """Amina, a counsellor (being offered a call), logged in."""
    users.add("amina", Role.COUNSELLOR, PASSWORD, counsellor_id="amina")
    return open_session(app, "amina")
