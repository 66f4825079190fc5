"""In-call tools end to end: a counsellor escalates to 119, a duty manager listens, whispers
and barges in, a blocked caller is turned away. The real web app, worker and Redis; the
simulator plays the callers, the counsellor's softphone, the service and the manager's
softphone, and tells who could hear whom."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from console.users import Role, Users
from helpline.demo import LocalProduct, start_local
from helpline.privacy import pseudonymise
from tests.e2e.conftest import SPEED, e2e_config, eventually

TIMEOUT = 60.0  # real seconds
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProduct]:
    """The product against the simulator; counsellors talk until told to hang up."""
    local = start_local(
        Path(tmp_path_factory.mktemp("e2e-incall")),
        e2e_config(),
        web_workers=2,
        speed=SPEED,
        seed=11,
        answer_delay=2.0,
        handle_time_mean=10**6,  # the tests hang the counsellor up themselves
        no_answer_probability=0.0,
        patience_mean=None,
        service_answer_delay=2.0,
        supervisor_answer_delay=2.0,
    )
    yield local
    local.stop()


class Browser:
    """A logged-in console user over HTTP: a cookie session and its CSRF token."""

    def __init__(self, local: LocalProduct, login: str, landing: str) -> None:
        self.base = local.public
        self.http = requests.Session()
        page = self.http.get(f"{self.base}/console/login", timeout=10)
        token = CSRF.search(page.text)
        assert token, "no csrf_token on the login page"
        answer = self.http.post(
            f"{self.base}/console/login",
            data={"login": login, "password": PASSWORD, "csrf_token": token.group(1)},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, answer.text
        token = CSRF.search(self.http.get(f"{self.base}{landing}", timeout=10).text)
        assert token, f"no csrf_token on {landing}"
        self.csrf = token.group(1)

    def post(self, path: str, body: dict[str, object]) -> requests.Response:
        """A JSON POST with the session's CSRF header."""
        return self.http.post(
            f"{self.base}{path}", json=body, headers={"X-CSRF-Token": self.csrf}, timeout=15
        )

    def get(self, path: str) -> requests.Response:
        """A GET in the session."""
        return self.http.get(f"{self.base}{path}", timeout=10)

    def close(self) -> None:
        """Forget the session."""
        self.http.close()


@pytest.fixture
def counsellor(local: LocalProduct, team) -> Iterator[Browser]:
    """Amina, available, logged in to her console."""
    team("amina")
    Users(local.runtime).add("amina", Role.COUNSELLOR, PASSWORD)
    browser = Browser(local, "amina", "/console/")
    yield browser
    browser.close()


@pytest.fixture
def manager(local: LocalProduct) -> Iterator[Browser]:
    """Claire, duty manager, logged in."""
    Users(local.runtime).add("claire", Role.MANAGER, PASSWORD)
    browser = Browser(local, "claire", "/incall/blocklist")
    yield browser
    browser.close()


def events(local: LocalProduct, what: str) -> list[dict[str, str]]:
    """Events of one kind, in stream order."""
    rows = local.runtime.redis.xrange(local.runtime.keys.events)
    return [fields for _id, fields in rows if fields.get("what") == what]


def talking(local: LocalProduct):
    """A caller put through to Amina: (caller handle, Amina's leg, conference name)."""
    caller = local.sim.place_call(platform="phone", digits=[])
    assert caller.wait_for(lambda h: h.leg.connected_at is not None, TIMEOUT)
    (amina,) = [leg for leg in local.sim.legs_to("client:amina") if leg.live and leg.connected_at]
    conference = caller.leg.participant.conference.friendly_name
    assert conference.startswith("res-")
    return caller, amina, conference


def in_conference(leg, name: str) -> bool:
    """The leg is a participant of the started conference ``name``."""
    p = leg.participant
    return p is not None and p.conference.friendly_name == name and p.conference.started


def test_escalation_keeps_the_caller_with_the_service_after_the_counsellor_leaves(
    local, counsellor
) -> None:
    """Escalate to 119: the service joins caller and counsellor; the counsellor may hang up,
    the child stays on the line with 119; the escalation is an event."""
    caller, amina, conference = talking(local)
    answer = counsellor.post("/incall/escalate", {"target": "child_protection"})
    assert answer.status_code == 201, answer.text
    (service,) = local.sim.legs_to("119")
    assert service.role == "service"
    eventually(lambda: in_conference(service, conference), TIMEOUT)
    heard = local.sim.who_hears(conference)
    assert heard[caller.sid] == {amina.sid, service.sid}
    assert heard[service.sid] == {caller.sid, amina.sid}
    (escalated,) = events(local, "incall.escalated")
    assert escalated["call_sid"] == caller.sid and escalated["target"] == "child_protection"
    assert escalated["participant"] == service.sid and escalated["counsellor"] == "amina"

    local.sim.hangup_leg(amina.sid)
    assert amina.done.wait(TIMEOUT)
    # Two real seconds are 40 simulated ones, far beyond the 3 s a lone party waits.
    assert not caller.wait_for(lambda h: h.done, timeout=2.0)
    assert in_conference(caller.leg, conference) and service.live
    assert local.sim.who_hears(conference)[caller.sid] == {service.sid}

    caller.hangup()
    result = caller.wait(TIMEOUT)
    assert service.done.wait(TIMEOUT)
    assert result.outcome == "answered" and result.connected_to == "amina"


def test_a_duty_manager_listens_whispers_and_barges_in_then_leaves(
    local, counsellor, manager
) -> None:
    """Listen: nobody hears the manager; whisper: only the counsellor; barge: both. The
    counsellor's console shows the supervision; leaving ends only the manager's leg."""
    caller, amina, conference = talking(local)

    answer = manager.post("/incall/supervise", {"counsellor": "amina", "mode": "listen"})
    assert answer.status_code == 200, answer.text
    (softphone,) = local.sim.legs_to("client:manager-claire")
    assert softphone.role == "supervisor"
    eventually(lambda: in_conference(softphone, conference), TIMEOUT)
    heard = local.sim.who_hears(conference)
    assert heard[softphone.sid] == set()
    assert softphone.sid in heard[caller.sid] and softphone.sid in heard[amina.sid]
    presence = counsellor.get("/incall/api/presence").json()
    assert presence == {"supervised": True, "mode": "listen"}

    answer = manager.post("/incall/supervise", {"counsellor": "amina", "mode": "whisper"})
    assert answer.status_code == 200, answer.text
    assert local.sim.who_hears(conference)[softphone.sid] == {amina.sid}
    assert counsellor.get("/incall/api/presence").json()["mode"] == "whisper"

    answer = manager.post("/incall/supervise", {"counsellor": "amina", "mode": "barge"})
    assert answer.status_code == 200, answer.text
    assert local.sim.who_hears(conference)[softphone.sid] == {caller.sid, amina.sid}

    answer = manager.post("/incall/supervise/leave", {"counsellor": "amina"})
    assert answer.status_code == 200, answer.text
    assert softphone.done.wait(TIMEOUT)
    assert counsellor.get("/incall/api/presence").json() == {"supervised": False, "mode": None}
    assert caller.leg.live and amina.live
    assert local.sim.who_hears(conference)[caller.sid] == {amina.sid}
    caller.hangup()
    assert caller.wait(TIMEOUT).outcome == "answered"


def test_a_blocked_caller_hears_the_neutral_message_and_is_counted_blocked(
    local, team, manager
) -> None:
    """A duty manager blocks a caller's keyed hash; that caller, with a counsellor free, hears
    the busy message with 17/112/119 and the call ends: overflowed, reason blocked."""
    team("amina")
    number = "+33612340017"
    caller_hash = pseudonymise(local.runtime.settings.secret_key, number)
    answer = manager.post(
        "/incall/blocklist", {"caller": caller_hash, "hours": 2, "reason": "appels abusifs"}
    )
    assert answer.status_code == 201, answer.text

    offers_before = len(local.sim.legs_to("client:amina"))
    result = local.sim.place_call(platform="phone", from_=number, digits=[]).wait(TIMEOUT)
    spoken = " ".join(result.transcript)
    assert result.connected_to is None and result.ended_by == "line"
    assert "occupées" in spoken and "119" in spoken and "112" in spoken
    assert "vous êtes bien au 30 18" not in spoken  # no welcome: straight to the ending
    assert len(local.sim.legs_to("client:amina")) == offers_before  # never offered
    record = local.runtime.redis.hgetall(local.runtime.keys.call(result.sid))
    assert record["outcome"] == "overflowed" and record["reason"] == "blocked"
    assert number not in str(record)
