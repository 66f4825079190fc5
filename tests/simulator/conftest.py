"""Fixtures: the fake application, simulators pointed at it, and an official twilio client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from simulator import SimConfig, Simulator
from tests.simulator.fakeapp import FakeApp

AUTH_TOKEN = "sim-test-auth-token-0123456789"
ACCOUNT_SID = "AC" + "1" * 32


class SimulatorHttpClient(TwilioHttpClient):
    """The official client's transport, sending api.twilio.com requests to the simulator."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=10)
        self.base = urlsplit(base_url)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Rewrite scheme and host, keep path and query."""
        parts = urlsplit(url)
        url = urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def app() -> Iterator[FakeApp]:
    """The fake helpline application."""
    fake = FakeApp(AUTH_TOKEN)
    yield fake
    fake.close()


@pytest.fixture
def make_sim(app: FakeApp) -> Iterator[Callable[..., Simulator]]:
    """Build started simulators whose Voice URL is the fake app's /voice; stopped afterwards."""
    made: list[Simulator] = []

    def build(**overrides: Any) -> Simulator:
        settings: dict[str, Any] = {
            "voice_url": app.url("/voice"),
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "speed": 100.0,
            "seed": 7,
            "answer_delay": 2.0,
            "handle_time_mean": 60.0,
            "handle_time_sigma": 0.0,  # a fixed talk time
            "press_probability": 0.0,
        }
        settings.update(overrides)
        sim = Simulator(SimConfig(**settings))
        sim.start()
        made.append(sim)
        return sim

    yield build
    for sim in made:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    """One started simulator with the defaults above."""
    return make_sim()


@pytest.fixture
def rest(sim: Simulator) -> Iterator[Client]:
    """The official twilio client, talking to ``sim``."""
    http = SimulatorHttpClient(sim.base_url)
    yield Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http)
    if http.session is not None:
        http.session.close()


def rest_client(sim: Simulator, token: str = AUTH_TOKEN) -> tuple[Client, SimulatorHttpClient]:
    """A client for ``sim`` with any token (close ``.session`` of the second value after)."""
    http = SimulatorHttpClient(sim.base_url)
    return Client(ACCOUNT_SID, token, http_client=http), http
