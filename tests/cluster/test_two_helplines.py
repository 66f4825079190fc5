"""Two helplines in one deployment: 3018 and a 116 111 line (deploy/helplines/116111.toml) share
one Redis — a single server or the Cluster — and never see each other's callers, counsellors,
events, figures or jobs. Each runs its own processes (one runtime per process); here the test
switches the process's runtime before each helpline's requests, as its own processes would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import redis as redis_lib
from flask.testing import FlaskClient
from redis.crc import key_slot
from twilio.rest import Client

from acd.model import CounsellorState
from acd.store import Acd
from helpline.app import create_app
from helpline.clock import FrozenClock
from helpline.redis_cluster import LocalCluster
from helpline.redis_server import PrivateRedis
from helpline.redis_topology import connect
from helpline.runtime import Runtime, set_runtime
from helpline.settings import Settings, load_config
from tests.conftest import AUTH_TOKEN, TwilioClient
from tests.ivr.conftest import call_form, sid, twiml
from tests.twilio_fake import ACCOUNT, FakeTwilioHttp

ROOT = Path(__file__).resolve().parents[2]
OTHER = ROOT / "deploy" / "helplines" / "116111.toml"


@pytest.fixture(params=["one server", "cluster"])
def shared(
    request: pytest.FixtureRequest, redis_server: PrivateRedis, settings: Settings
) -> Iterator[tuple[redis_lib.Redis, Settings]]:
    """The one Redis both helplines use (the session's server, or the Cluster with RQ on the
    session's server), and settings naming it."""
    url = redis_server.url
    if request.param == "cluster":
        cluster: LocalCluster = request.getfixturevalue("cluster")
        url = cluster.url
    client = connect(url)
    client.flushall()
    yield client, replace(settings, redis_url=url, rq_redis_url=redis_server.url)
    client.close()


class Line:
    """One helpline's process: runtime, web app, Twilio-signed client, fake Twilio."""

    def __init__(self, config_path: Path | None, settings: Settings, redis: redis_lib.Redis):
        self.http = FakeTwilioHttp()
        self.runtime = Runtime(
            settings=settings,
            config=load_config(config_path),
            redis=redis,
            clock=FrozenClock(),
            twilio_override=Client(ACCOUNT, AUTH_TOKEN, http_client=self.http),
            rq_is_async=False,
        )
        self.app = create_app({"RUNTIME": self.runtime, "TESTING": True})
        self.twilio = TwilioClient(FlaskClient(self.app))
        self.acd = Acd(self.runtime)

    @contextmanager
    def serving(self) -> Iterator[None]:
        """This helpline's process is the one at work (its jobs use its runtime)."""
        set_runtime(self.runtime)
        try:
            yield
        finally:
            set_runtime(None)

    def log_in(self, cid: str, skill: str, language: str) -> None:
        self.acd.add_counsellor(cid, cid.title(), [skill], [language], f"client:{cid}")
        self.acd.set_state(cid, CounsellorState.AVAILABLE)

    def call(self, n: int) -> list:
        """A caller through every menu (silence: the defaults) into the queue."""
        with self.serving():
            roots = [twiml(self.twilio.post("/voice/incoming", call_form(n)))]
            for step in ("language", "consent", "caller_type"):
                roots.append(twiml(self.twilio.post(f"/voice/menu/{step}", call_form(n))))
        return roots


def test_two_helplines_on_one_redis_never_see_each_other(
    shared: tuple[redis_lib.Redis, Settings],
) -> None:
    """Same Redis, even the same CallSid: separate queues, teams, offers, events and jobs."""
    redis, settings = shared
    fr = Line(None, settings, redis)
    other = Line(OTHER, settings, redis)
    fr.log_in("amina", "psychologist", "fr")
    other.log_in("aoife", "counsellor", "en")

    fr_roots = fr.call(1)
    other_roots = other.call(1)  # the very same CallSid, on the other line
    other.call(2)

    # Each line's own language and prompts; each offer to its own team.
    assert fr_roots[0].find(".//Say").get("language") == "fr-FR"
    assert other_roots[0].find(".//Say").get("language") == "en-GB"
    assert [c.data["To"] for c in fr.http.calls_created()] == ["client:amina"]
    assert [c.data["To"] for c in other.http.calls_created()] == ["client:aoife"]

    # Each ACD sees only its own callers and counsellors.
    assert [c.id for c in fr.acd.list_counsellors()] == ["amina"]
    assert [c.id for c in other.acd.list_counsellors()] == ["aoife"]
    assert [w["call_sid"] for w in fr.acd.waiting_callers()] == [sid(1)]
    assert [w["call_sid"] for w in other.acd.waiting_callers()] == [sid(1), sid(2)]
    assert fr.acd.get_reservation("1").counsellor_id == "amina"
    assert other.acd.get_reservation("1").counsellor_id == "aoife"

    # Events and figures stay apart; so do the RQ queues and the key slots.
    def offered(line: Line) -> list[str]:
        rows = line.runtime.redis.xrange(line.runtime.keys.events)
        return [e["counsellor"] for _, e in rows if e["what"] == "offered"]

    assert offered(fr) == ["amina"] and offered(other) == ["aoife"]
    assert fr.runtime.queue.name == "helpline-3018"
    assert other.runtime.queue.name == "helpline-116111"
    assert key_slot(fr.runtime.keys.events.encode()) != key_slot(other.runtime.keys.events.encode())
