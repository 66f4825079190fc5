"""The simulator's fault injection (simulator/faults.py), seen through the app's own Twilio
client: REST errors, timeouts and slowness; callbacks duplicated, delayed and reordered."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from helpline.twilio_client import make_client
from simulator import SimConfig, Simulator
from simulator.faults import CallbackFaults, FaultConfig

AUTH_TOKEN = "faults-test-auth-token"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A simulator serving only its REST API."""
    simulator = Simulator(SimConfig(auth_token=AUTH_TOKEN, speed=50.0, seed=3))
    simulator.start()
    yield simulator
    simulator.stop()


def client_for(sim: Simulator, timeout: float = 10.0):
    """The application's Twilio client (helpline.twilio_client), pointed at ``sim``."""
    return make_client(sim.config.account_sid, AUTH_TOKEN, sim.base_url, timeout)


def test_rest_errors_answer_a_5xx_in_twilios_shape_and_change_nothing(sim) -> None:
    """An injected 503 reaches the client as a TwilioRestException; nothing was created."""
    sim.config.faults.rest_error_rate = 1.0
    with pytest.raises(TwilioRestException) as info:
        client_for(sim).queues.create(friendly_name="helpline")
    assert info.value.status == 503
    sim.config.faults.clear()
    assert client_for(sim).queues.list() == []
    assert sim.config.faults.counters["rest_errors"] == 1


def test_a_timed_out_request_was_served_although_the_client_gave_up(sim) -> None:
    """A held answer: the client's timeout fires, yet the queue exists (the worst case)."""
    sim.config.faults.rest_timeout_rate = 1.0
    sim.config.faults.rest_timeout_s = 1.0
    with pytest.raises(requests.exceptions.Timeout):
        client_for(sim, timeout=0.2).queues.create(friendly_name="helpline")
    sim.config.faults.clear()
    assert [q.friendly_name for q in client_for(sim).queues.list()] == ["helpline"]


def test_the_apps_twilio_client_never_waits_forever() -> None:
    """The app's REST client has a finite timeout (a REST call cannot hang a job for ever)."""
    client = make_client("AC" + "0" * 32, AUTH_TOKEN, "http://127.0.0.1:9")
    assert client.http_client.timeout is not None and client.http_client.timeout <= 30


def test_twilio_http_timeout_sets_the_apps_client_timeout(sim) -> None:
    """TWILIO_HTTP_TIMEOUT reaches the runtime's client, and a webhook's shorter limit never
    lengthens it."""
    from acd.twilio_ops import with_timeout
    from helpline.runtime import build_runtime
    from helpline.settings import Settings

    env = {"HELPLINE_MODE": "test", **sim.app_environment()}
    runtime = build_runtime(Settings.from_env({**env, "TWILIO_HTTP_TIMEOUT": "0.3"}))
    assert runtime.twilio.http_client.timeout == 0.3
    assert with_timeout(runtime.twilio, 3.0).http_client.timeout == 0.3
    default = build_runtime(Settings.from_env(env))
    assert with_timeout(default.twilio, 3.0).http_client.timeout == 3.0
    sim.config.faults.rest_timeout_rate = 1.0
    sim.config.faults.rest_timeout_s = 1.0
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        runtime.twilio.queues.create(friendly_name="helpline")
    assert time.monotonic() - started < 0.9


@pytest.mark.parametrize("raw", ["0", "-1", "61", "ten", "nan", "inf"])
def test_a_bad_twilio_http_timeout_is_refused_by_name(raw: str) -> None:
    """A timeout that is not a number of seconds in (0, 60] stops the process at start."""
    from helpline.settings import ConfigError, Settings

    with pytest.raises(ConfigError, match="TWILIO_HTTP_TIMEOUT"):
        Settings.from_env({"HELPLINE_MODE": "test", "TWILIO_HTTP_TIMEOUT": raw})


def test_a_slow_api_answers_no_sooner_than_its_delay(sim) -> None:
    """rest_delay_s holds every answer at least that long, and the request still succeeds."""
    sim.config.faults.rest_delay_s = 0.3
    started = time.monotonic()
    assert client_for(sim).queues.list() == []
    assert time.monotonic() - started >= 0.3


def test_faults_are_refused_when_they_cannot_work() -> None:
    """Rates outside 0..1, negative delays and non-5xx statuses are configuration errors."""
    for bad in ({"rest_error_rate": 1.5}, {"callback_delay_s": -1}, {"rest_error_status": 404}):
        with pytest.raises(ValueError):
            SimConfig(faults=FaultConfig(**bad)).validate()


class Sent:
    """Collects what the callback faults let through, in order."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, item) -> None:
        with self.lock:
            self.items.append(item[2]["n"])

    def wait_for(self, count: int, timeout: float = 5.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.items) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.items)


def callback(n: str):
    return ("http://app/status", "POST", {"n": n})


def test_without_faults_callbacks_pass_straight_through() -> None:
    """No fault configured: the dispatcher queues callbacks itself."""
    faults, sent = CallbackFaults(FaultConfig()), Sent()
    assert faults.take(callback("a"), sent) is False
    assert sent.items == []


def test_duplicated_callbacks_are_sent_twice() -> None:
    """callback_duplicate_rate 1: every callback arrives twice."""
    faults, sent = CallbackFaults(FaultConfig(callback_duplicate_rate=1.0, seed=1)), Sent()
    for n in "ab":
        assert faults.take(callback(n), sent)
    assert sent.items == ["a", "a", "b", "b"]


def test_a_held_back_callback_is_overtaken_by_the_next_one() -> None:
    """callback_reorder_rate: the held one goes right after the next callback."""
    config = FaultConfig(callback_reorder_rate=1.0, seed=1)
    faults, sent = CallbackFaults(config), Sent()
    faults.take(callback("a"), sent)
    config.callback_reorder_rate = 0.0
    faults.take(callback("b"), sent)
    assert sent.items == ["b", "a"]


def test_delayed_callbacks_arrive_late_and_a_flush_sends_them_at_once() -> None:
    """callback_delay_s: nothing is sent at once; flush (the dispatcher draining) sends all."""
    faults, sent = CallbackFaults(FaultConfig(callback_delay_s=30.0, seed=2)), Sent()
    for n in "abc":
        faults.take(callback(n), sent)
    assert sent.items == []
    faults.flush(sent)
    assert sorted(sent.wait_for(3)) == ["a", "b", "c"]
    faults.flush(sent)
    assert len(sent.items) == 3  # each exactly once


def test_short_delays_deliver_every_callback_exactly_once() -> None:
    """Delays reorder callbacks but lose and repeat none."""
    faults, sent = CallbackFaults(FaultConfig(callback_delay_s=0.05, seed=4)), Sent()
    names = [str(i) for i in range(20)]
    for n in names:
        faults.take(callback(n), sent)
    assert sorted(sent.wait_for(20), key=int) == names
