"""The REST API as the official twilio client sees it: auth, errors, resources."""

from __future__ import annotations

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.simulator.conftest import ACCOUNT_SID, AUTH_TOKEN, SimulatorHttpClient, rest_client

WAIT = 20


def test_wrong_credentials_are_refused_with_401(sim) -> None:
    """Twilio answers 401 (code 20003) to a wrong auth token."""
    client, http = rest_client(sim, token="not-the-token")
    try:
        with pytest.raises(TwilioRestException) as info:
            client.calls("CA" + "0" * 32).fetch()
    finally:
        http.session.close()
    assert info.value.status == 401 and info.value.code == 20003
    bare = requests.get(f"{sim.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json", timeout=5)
    assert bare.status_code == 401 and bare.json()["message"] == "Authenticate"


def test_unknown_resources_answer_twilios_404_shape(sim) -> None:
    """An unknown SID: 404 with code, message, more_info and status."""
    url = f"{sim.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/CA{'0' * 32}.json"
    response = requests.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    body = response.json()
    assert response.status_code == 404
    assert body["code"] == 20404 and body["status"] == 404
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20404"
    assert "was not found" in body["message"]


def test_rest_server_listens_on_loopback_only(sim) -> None:
    """The API is on 127.0.0.1 and its base URL says so."""
    assert sim.base_url == f"http://127.0.0.1:{sim.port}"
    env = sim.app_environment()
    assert env["TWILIO_API_BASE_URL"] == sim.base_url and env["TWILIO_AUTH_TOKEN"] == AUTH_TOKEN


def test_create_call_validates_its_parameters(sim, rest) -> None:
    """Missing To, From or Url are refused with Twilio's codes."""
    with pytest.raises(TwilioRestException) as no_url:
        rest.calls.create(to="client:amina", from_="+33800003018")
    assert no_url.value.status == 400 and no_url.value.code == 21205
    with pytest.raises(TwilioRestException) as bad_twiml:
        rest.calls.create(to="client:amina", from_="+33800003018", twiml="<Response><Nope/>")
    assert bad_twiml.value.status == 400


def test_a_call_can_be_created_with_inline_twiml_and_fetched(app, sim, rest) -> None:
    """Twiml instead of Url; fetch shows the resource as Twilio shapes it."""
    call = rest.calls.create(
        to="+33612345678", from_="+33800003018", twiml="<Response><Say>Test.</Say></Response>"
    )
    leg = sim.net.calls[call.sid]
    assert leg.done.wait(WAIT)
    fetched = rest.calls(call.sid).fetch()
    assert fetched.status == "completed" and fetched.direction == "outbound-api"
    assert fetched.to == "+33612345678" and fetched._from == "+33800003018"
    assert fetched.duration is not None and fetched.start_time is not None
    assert leg.transcript == ["Test."]
    assert call.sid in [c.sid for c in rest.calls.list(to="+33612345678")]


def test_queues_can_be_created_listed_and_show_their_members(app, sim, rest) -> None:
    """Queues: create, fetch, members with FIFO positions, Front."""
    queue = rest.queues.create(friendly_name="juristes", max_size=10)
    assert queue.sid.startswith("QU") and queue.max_size == 10 and queue.current_size == 0
    app.docs["/voice"] = '<Response><Enqueue waitUrl="">juristes</Enqueue></Response>'
    first, second = sim.place_call(), sim.place_call()
    assert first.wait_for(lambda h: h.leg.member is not None)
    assert second.wait_for(lambda h: h.leg.member is not None)
    assert rest.queues(queue.sid).fetch().current_size == 2
    members = rest.queues(queue.sid).members.list()
    by_sid = {m.call_sid: m.position for m in members}
    assert sorted(by_sid.values()) == [1, 2]
    front = rest.queues(queue.sid).members("Front").fetch()
    assert by_sid[front.call_sid] == 1
    with pytest.raises(TwilioRestException) as dup:
        rest.queues.create(friendly_name="juristes")
    assert dup.value.status == 400


def test_dequeue_front_takes_the_longest_waiting_caller(app, sim, rest) -> None:
    """Members('Front').update dequeues the first in line into the given URL."""
    app.docs["/voice"] = '<Response><Enqueue waitUrl="">support</Enqueue></Response>'
    app.docs["/out"] = "<Response><Say>Sorti de la file.</Say></Response>"
    first = sim.place_call()
    assert first.wait_for(lambda h: h.leg.member is not None)
    second = sim.place_call()
    assert second.wait_for(lambda h: h.leg.member is not None)
    queue = sim.net.queue_named("support", create=False)
    member = rest.queues(queue.sid).members("Front").update(url=app.url("/out"))
    assert member.call_sid == first.sid and member.position == 1
    assert first.wait(WAIT).transcript == ["Sorti de la file."]
    assert not second.done
    second.hangup()
    second.wait(WAIT)


def test_conference_resources_show_participants_and_can_mute_and_kick(app, sim, rest) -> None:
    """Conferences and Participants: list, fetch, mute, hold, remove (the call goes on)."""
    app.docs["/voice"] = (
        "<Response><Dial><Conference>salle-1</Conference></Dial>"
        "<Say>Vous avez quitte la conference.</Say></Response>"
    )
    caller = sim.place_call()
    assert caller.wait_for(lambda h: h.leg.participant is not None)
    (conf,) = rest.conferences.list(friendly_name="salle-1")
    assert conf.status == "init" and conf.sid.startswith("CF")
    (part,) = rest.conferences(conf.sid).participants.list()
    assert part.call_sid == caller.sid and part.muted is False
    updated = rest.conferences(conf.sid).participants(caller.sid).update(muted=True, hold=True)
    assert updated.muted is True and updated.hold is True
    rest.conferences(conf.sid).participants(caller.sid).delete()
    result = caller.wait(WAIT)
    assert result.transcript == ["Vous avez quitte la conference."]
    assert rest.conferences(conf.sid).fetch().status == "completed"
    assert rest.conferences(conf.sid).fetch().reason_conference_ended == "last-participant-kicked"


def test_an_api_key_and_secret_are_accepted_like_the_auth_token(make_sim) -> None:
    """Twilio accepts an API key (SK…) and its secret as Basic credentials."""
    key = "SK" + "a" * 32
    sim = make_sim(api_keys={key: "key-secret"})
    http = SimulatorHttpClient(sim.base_url)
    client = Client(key, "key-secret", ACCOUNT_SID, http_client=http)
    try:
        assert client.queues.create(friendly_name="cles").friendly_name == "cles"
    finally:
        http.session.close()
