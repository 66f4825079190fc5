"""Dashboard fixtures: the app with the dashboard registered, a duty manager and a counsellor
logged in, the ACD, and builders of events for the figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from flask import Flask

from acd.store import Acd
from console.users import Role, Users
from dashboard.figures import Event
from helpline.app import create_app
from helpline.clock import to_ms
from helpline.runtime import Runtime
from tests.console.conftest import PASSWORD, Session, open_session


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    """The web app with the dashboard."""
    return create_app({"RUNTIME": runtime, "TESTING": True})


@pytest.fixture
def acd(runtime: Runtime) -> Acd:
    """The ACD on the test Redis and clock."""
    return Acd(runtime)


@pytest.fixture
def users(runtime: Runtime) -> Users:
    """Console users."""
    return Users(runtime)


@pytest.fixture
def manager(app: Flask, users: Users) -> Session:
    """Claire, a duty manager, logged in."""
    users.add("claire", Role.MANAGER, PASSWORD)
    return open_session(app, "claire")


@pytest.fixture
def counsellor(app: Flask, users: Users, acd: Acd) -> Session:
    """Amina, a counsellor, logged in."""
    acd.add_counsellor("amina", "Amina B.", ["psychologist"], ["fr"], "client:amina")
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    return open_session(app, "amina")


class EventMaker:
    """Hand-made events, numbered in order, at instants given as datetimes."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, what: str, at: datetime, **fields: object) -> Event:
        self.n += 1
        body = {"what": what, "at": str(to_ms(at))}
        body.update({k: str(v) for k, v in fields.items() if v is not None})
        return Event(f"{self.n}-0", what, to_ms(at), body)


@pytest.fixture
def ev() -> Callable[..., Event]:
    """Build an `Event`: ``ev("outcome", when, call="CA1", outcome="answered", wait=12)``."""
    return EventMaker()
