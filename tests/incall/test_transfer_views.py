"""Warm transfer over HTTP: the console's requests (session, CSRF, JSON) and the colleague's
signed Twilio webhooks, with the Conference Participants updates that keep the caller on the
line; RQ jobs run inline, Twilio is the recording fake."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from flask import Flask
from twilio.http.response import Response

from acd import jobs
from acd.store import Acd
from console.users import Role, Users
from helpline.clock import FrozenClock
from helpline.runtime import Runtime
from tests.conftest import TwilioClient
from tests.incall.conftest import (
    CALLER_SID,
    CONFERENCE_SID,
    COUNSELLOR_LEG,
    PASSWORD,
    ParticipantsHttp,
    Session,
    live_call,
    open_session,
)
from tests.twilio_fake import ACCOUNT, RecordedRequest

_LIST = re.compile(r"/Conferences\.json$")


class ConferencesHttp(ParticipantsHttp):
    """Also lists the live conference by friendly name (participant updates need its SID)."""

    live = True

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        """GET Conferences.json answers one in-progress conference (or none)."""
        if method == "GET" and _LIST.search(url):
            params = dict(kwargs.get("params") or {})
            self.requests.append(RecordedRequest(method, url, params))
            found = [
                {
                    "sid": CONFERENCE_SID,
                    "account_sid": ACCOUNT,
                    "friendly_name": params.get("FriendlyName"),
                    "status": "in-progress",
                }
            ]
            body = {"conferences": found if self.live else [], "next_page_uri": None}
            return Response(200, json.dumps(body))
        return super().request(method, url, *args, **kwargs)

    def updates(self) -> list[tuple[str, dict[str, Any]]]:
        """(participant CallSid, body) of every participant update."""
        found = []
        for r in self.participants():
            m = re.search(r"/Participants/(CA\w+)\.json$", r.url)
            if m and r.method == "POST":
                found.append((m.group(1), r.data))
        return found


@pytest.fixture
def twilio_http() -> ConferencesHttp:
    """Records REST requests; knows Conferences and their Participants."""
    return ConferencesHttp()


@pytest.fixture
def lina(app: Flask, users: Users, acd: Acd, clock: FrozenClock) -> Session:
    """Lina, a lawyer, available and logged in."""
    acd.add_counsellor("lina", "Lina M.", ["lawyer"], ["fr"], "client:lina")
    users.add("lina", Role.COUNSELLOR, PASSWORD)
    session = open_session(app, "lina")
    acd.set_state("lina", "available")
    clock.advance(1)
    return session


def twiml(response: Any) -> ET.Element:
    assert response.status_code == 200, response.get_data(as_text=True)
    return ET.fromstring(response.get_data())  # noqa: S314 - our own output


def audit_actions(runtime: Runtime) -> list[str]:
    return [f["action"] for _, f in runtime.redis.xrange(runtime.keys.audit)]


def transfer_offer(acd: Acd) -> str:
    """The transfer offer Lina was reserved for by the inline dispatch."""
    lina = acd.get_counsellor("lina")
    assert lina is not None and lina.state.value == "reserved" and lina.reservation_id
    return lina.reservation_id


def test_request_keeps_the_call_when_the_counsellor_leaves_and_offers_a_lawyer(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    lina: Session,
    twilio_http: ConferencesHttp,
) -> None:
    """202 waiting/offering; Amina's participant no longer ends the conference; Lina's phone
    rings for the transfer; audited."""
    rid = live_call(runtime, acd, clock)
    twilio_http.requests.clear()
    answer = counsellor.post_json("/incall/transfer", {"skill": "lawyer"})
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert answer.get_json()["state"] in ("waiting", "offering")
    assert twilio_http.updates() == [(COUNSELLOR_LEG, {"EndConferenceOnExit": "false"})]
    [ring] = twilio_http.calls_created()
    assert ring.data["To"] == "client:lina"
    assert ring.data["Url"].endswith(f"/voice/offer/{transfer_offer(acd)}")
    assert audit_actions(runtime) == ["incall.transfer_request"]
    assert counsellor.client.get("/incall/api/transfer").get_json()["state"] == "offering"
    seen_by_lina = lina.client.get("/incall/api/transfer").get_json()
    assert seen_by_lina["from"] == "Amina B." and seen_by_lina["role"] == "colleague"
    assert rid


def test_request_refusals(
    runtime: Runtime, acd: Acd, clock: FrozenClock, counsellor: Session, lina: Session
) -> None:
    """Not on a call: 409; unknown skill: 400; a second transfer: 409; no CSRF: 403."""
    assert counsellor.post_json("/incall/transfer", {"skill": "lawyer"}).status_code == 409
    live_call(runtime, acd, clock)
    assert counsellor.post_json("/incall/transfer", {"skill": "astrology"}).status_code == 400
    forged = counsellor.post_json("/incall/transfer", {"skill": "lawyer"}, token="x")
    assert forged.status_code == 403
    assert counsellor.post_json("/incall/transfer", {"skill": "lawyer"}).status_code == 202
    second = counsellor.post_json("/incall/transfer", {"skill": "digital"})
    assert second.status_code == 409 and second.get_json()["title"] == "running"


def test_a_failed_participant_update_starts_no_transfer(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    lina: Session,
    twilio_http: ConferencesHttp,
) -> None:
    """No live conference to update: 502, nothing waits for a lawyer, Lina is not rung."""
    live_call(runtime, acd, clock)
    twilio_http.live = False
    twilio_http.requests.clear()
    answer = counsellor.post_json("/incall/transfer", {"skill": "lawyer"})
    assert answer.status_code == 502
    assert twilio_http.calls_created() == []
    assert acd.get_counsellor("lina").state.value == "available"  # type: ignore[union-attr]
    assert counsellor.client.get("/incall/api/transfer").get_json()["state"] == "canceled"


def test_whisper_accept_and_hand_over(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    lina: Session,
    twilio: TwilioClient,
    twilio_http: ConferencesHttp,
) -> None:
    """Lina hears it is a transfer, joins res-<rid> without ending it on exit; the hand-over
    makes her the one whose leaving ends the call, then hangs up Amina."""
    rid = live_call(runtime, acd, clock)
    counsellor.post_json("/incall/transfer", {"skill": "lawyer"})
    rid2 = transfer_offer(acd)
    [ring] = twilio_http.calls_created()
    leg = acd.get_reservation(rid2).counsellor_call_sid  # type: ignore[union-attr]
    assert leg and ring
    offer = twiml(twilio.post(f"/voice/offer/{rid2}", {"CallSid": leg}))
    said = " ".join(s.text or "" for s in offer.iter("Say"))
    assert "Transfert d'un collègue" in said and "juriste" in said
    joined = twiml(twilio.post(f"/voice/offer/{rid2}/answer", {"CallSid": leg, "Digits": "1"}))
    conference = joined.find("Dial/Conference")
    assert conference is not None and conference.text == f"res-{rid}"
    assert conference.get("endConferenceOnExit") == "false"
    state = counsellor.client.get("/incall/api/transfer").get_json()
    assert state == {
        "role": "owner",
        "state": "joined",
        "skill": "lawyer",
        "colleague": "Lina M.",
        "reason": None,
    }
    twilio_http.requests.clear()
    done = counsellor.post_json("/incall/transfer/complete", {})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["state"] == "completed"
    assert twilio_http.updates() == [(leg, {"EndConferenceOnExit": "true"})]
    hangups = [r for r in twilio_http.requests if r.data.get("Status") == "completed"]
    assert [h.path.rsplit("/", 1)[-1] for h in hangups] == [f"{COUNSELLOR_LEG}.json"]
    assert audit_actions(runtime)[-1] == "incall.transfer"
    assert acd.get_counsellor("amina").state.value in ("wrap_up", "available")  # type: ignore[union-attr]
    assert runtime.redis.hget(runtime.keys.caller(CALLER_SID), "counsellor") == "lina"
    # Lina's leg ends later: an ordinary end of her call.
    twilio.post(f"/voice/offer/{rid2}/status", {"CallSid": leg, "CallStatus": "completed"})
    assert acd.get_counsellor("lina").state.value in ("wrap_up", "available")  # type: ignore[union-attr]


def test_complete_before_the_colleague_joined_is_refused(
    runtime: Runtime, acd: Acd, clock: FrozenClock, counsellor: Session, lina: Session
) -> None:
    """409 while the lawyer's phone is still ringing."""
    live_call(runtime, acd, clock)
    counsellor.post_json("/incall/transfer", {"skill": "lawyer"})
    refused = counsellor.post_json("/incall/transfer/complete", {})
    assert refused.status_code == 409 and refused.get_json()["title"] == "not_joined"


def test_stay_with_me_hangs_up_the_ringing_colleague(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    lina: Session,
    twilio_http: ConferencesHttp,
) -> None:
    """Cancel: Lina's leg is hung up, she is free without a miss, Amina's leaving ends the
    call again."""
    live_call(runtime, acd, clock)
    counsellor.post_json("/incall/transfer", {"skill": "lawyer"})
    [ring] = twilio_http.calls_created()
    twilio_http.requests.clear()
    answer = counsellor.post_json("/incall/transfer/cancel", {})
    assert answer.status_code == 200 and answer.get_json()["state"] == "canceled"
    hangups = [r for r in twilio_http.requests if r.data.get("Status") == "completed"]
    assert len(hangups) == 1 and "/Calls/CA" in hangups[0].path
    assert twilio_http.updates() == [(COUNSELLOR_LEG, {"EndConferenceOnExit": "true"})]
    lina_now = acd.get_counsellor("lina")
    assert lina_now is not None and lina_now.state.value == "available" and lina_now.missed == 0
    assert audit_actions(runtime)[-1] == "incall.transfer_cancel"
    assert counsellor.post_json("/incall/transfer/cancel", {}).status_code == 409
    assert ring


def test_counsellor_leaving_first_puts_the_caller_on_hold_for_the_colleague(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    twilio: TwilioClient,
    twilio_http: ConferencesHttp,
) -> None:
    """Nobody free yet, Amina hangs up: her call ends, the caller is redirected to a message
    and the conference's hold music, the transfer still waits at the head."""
    rid = live_call(runtime, acd, clock)
    counsellor.post_json("/incall/transfer", {"skill": "lawyer"})
    twilio_http.requests.clear()
    ended = {"CallSid": COUNSELLOR_LEG, "CallStatus": "completed"}
    twilio.post(f"/voice/offer/{rid}/status", ended)
    [redirect] = [r for r in twilio_http.requests if r.data.get("Url")]
    assert redirect.path.endswith(f"/Calls/{CALLER_SID}.json")
    assert redirect.data["Url"].endswith(f"/voice/transfer/{rid}/hold")
    assert acd.get_counsellor("amina").state.value in ("wrap_up", "available")  # type: ignore[union-attr]
    hold = twiml(twilio.post(f"/voice/transfer/{rid}/hold", {"CallSid": CALLER_SID}))
    assert "collègue" in " ".join(s.text or "" for s in hold.iter("Say"))
    conference = hold.find("Dial/Conference")
    assert conference is not None and conference.text == f"res-{rid}"
    assert conference.get("startConferenceOnEnter") == "false"
    assert conference.get("endConferenceOnExit") == "true"
    # Somebody else's CallSid gets no conference.
    stranger = twiml(twilio.post(f"/voice/transfer/{rid}/hold", {"CallSid": "CA" + "9" * 32}))
    assert stranger.find("Dial") is None


def test_transfer_hold_is_signed(client: Any) -> None:
    """Unsigned: 403."""
    assert client.post("/voice/transfer/1/hold", data={"CallSid": CALLER_SID}).status_code == 403


def test_after_the_hand_over_the_colleague_escalates_into_the_same_call(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    lina: Session,
    twilio: TwilioClient,
    twilio_http: ConferencesHttp,
) -> None:
    """The call keeps its conference (res-<first rid>): 17 is added where the caller is."""
    rid = live_call(runtime, acd, clock)
    counsellor.post_json("/incall/transfer", {"skill": "lawyer"})
    rid2 = transfer_offer(acd)
    leg = acd.get_reservation(rid2).counsellor_call_sid  # type: ignore[union-attr]
    twilio.post(f"/voice/offer/{rid2}/answer", {"CallSid": leg, "Digits": "1"})
    assert counsellor.post_json("/incall/transfer/complete", {}).status_code == 200
    twilio_http.requests.clear()
    assert lina.post_json("/incall/escalate", {"target": "police"}).status_code == 201
    create = twilio_http.participants()[0]
    assert create.path.endswith(f"/Conferences/res-{rid}/Participants.json")


def test_console_shows_the_transfer_controls_during_a_call(
    runtime: Runtime, acd: Acd, clock: FrozenClock, counsellor: Session
) -> None:
    """One button per configured skill, the status line, and the script from 'self'."""
    live_call(runtime, acd, clock)
    page = counsellor.client.get("/console/").get_data(as_text=True)
    for skill in runtime.config.acd.skills:
        assert f'data-transfer-skill="{skill}"' in page
    assert 'id="transfer-status"' in page and "/incall/static/transfer.js" in page
    assert 'data-request-url="/incall/transfer"' in page
    script = counsellor.client.get("/incall/static/transfer.js")
    assert script.status_code == 200 and b"eval(" not in script.data
    script.close()


def test_colleague_leaving_before_the_hand_over_gives_the_call_back(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    lina: Session,
    twilio: TwilioClient,
    twilio_http: ConferencesHttp,
) -> None:
    """Lina hangs up while Amina briefs her: the transfer is canceled and Amina's leaving
    ends the call again; Lina is not left on a call."""
    live_call(runtime, acd, clock)
    counsellor.post_json("/incall/transfer", {"skill": "lawyer"})
    rid2 = transfer_offer(acd)
    leg = acd.get_reservation(rid2).counsellor_call_sid  # type: ignore[union-attr]
    twilio.post(f"/voice/offer/{rid2}/answer", {"CallSid": leg, "Digits": "1"})
    twilio_http.requests.clear()
    twilio.post(f"/voice/offer/{rid2}/status", {"CallSid": leg, "CallStatus": "completed"})
    assert twilio_http.updates() == [(COUNSELLOR_LEG, {"EndConferenceOnExit": "true"})]
    state = counsellor.client.get("/incall/api/transfer").get_json()
    assert state["state"] == "canceled" and state["reason"] == "colleague_left"
    assert acd.get_counsellor("lina").state.value != "on_call"  # type: ignore[union-attr]
    assert acd.get_counsellor("amina").state.value == "on_call"  # type: ignore[union-attr]


def test_stay_with_me_after_an_escalation_keeps_the_service_on_the_call(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    lina: Session,
    twilio_http: ConferencesHttp,
) -> None:
    """17 was brought in, then a transfer is canceled: Amina's leaving still does not end the
    conference (the caller stays with the service)."""
    live_call(runtime, acd, clock)
    assert counsellor.post_json("/incall/escalate", {"target": "police"}).status_code == 201
    counsellor.post_json("/incall/transfer", {"skill": "lawyer"})
    twilio_http.requests.clear()
    answer = counsellor.post_json("/incall/transfer/cancel", {})
    assert answer.status_code == 200 and answer.get_json()["state"] == "canceled"
    assert (COUNSELLOR_LEG, {"EndConferenceOnExit": "true"}) not in twilio_http.updates()


def test_colleague_leaving_after_an_escalation_keeps_the_service_on_the_call(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    lina: Session,
    twilio: TwilioClient,
    twilio_http: ConferencesHttp,
) -> None:
    """119 on the line, Lina hangs up before the hand-over: Amina keeps the caller and her
    leaving still does not end the conference."""
    live_call(runtime, acd, clock)
    counsellor.post_json("/incall/escalate", {"target": "child_protection"})
    counsellor.post_json("/incall/transfer", {"skill": "lawyer"})
    rid2 = transfer_offer(acd)
    leg = acd.get_reservation(rid2).counsellor_call_sid  # type: ignore[union-attr]
    twilio.post(f"/voice/offer/{rid2}/answer", {"CallSid": leg, "Digits": "1"})
    twilio_http.requests.clear()
    twilio.post(f"/voice/offer/{rid2}/status", {"CallSid": leg, "CallStatus": "completed"})
    assert counsellor.client.get("/incall/api/transfer").get_json()["reason"] == "colleague_left"
    assert twilio_http.updates() == []


def test_after_an_escalation_the_colleague_taking_over_never_ends_the_service_call(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    lina: Session,
    twilio: TwilioClient,
    twilio_http: ConferencesHttp,
) -> None:
    """Hand-over after 112 joined: Lina's participant is not made to end the conference, and
    a transfer she then cancels leaves it so too."""
    live_call(runtime, acd, clock)
    counsellor.post_json("/incall/escalate", {"target": "emergency"})
    counsellor.post_json("/incall/transfer", {"skill": "lawyer"})
    rid2 = transfer_offer(acd)
    leg = acd.get_reservation(rid2).counsellor_call_sid  # type: ignore[union-attr]
    twilio.post(f"/voice/offer/{rid2}/answer", {"CallSid": leg, "Digits": "1"})
    twilio_http.requests.clear()
    assert counsellor.post_json("/incall/transfer/complete", {}).status_code == 200
    assert (leg, {"EndConferenceOnExit": "true"}) not in twilio_http.updates()
    assert lina.post_json("/incall/transfer", {"skill": "psychologist"}).status_code == 202
    twilio_http.requests.clear()
    assert lina.post_json("/incall/transfer/cancel", {}).status_code == 200
    assert (leg, {"EndConferenceOnExit": "true"}) not in twilio_http.updates()


def test_a_caller_alone_past_max_wait_is_told_the_alternatives(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    twilio: TwilioClient,
    twilio_http: ConferencesHttp,
) -> None:
    """Amina left first and no lawyer came for max_wait: the sweep redirects the caller, who
    hears that nobody can answer, 17/112/119 and the website, then the call ends."""
    rid = live_call(runtime, acd, clock)
    counsellor.post_json("/incall/transfer", {"skill": "lawyer"})
    twilio.post(
        f"/voice/offer/{rid}/status", {"CallSid": COUNSELLOR_LEG, "CallStatus": "completed"}
    )
    twilio_http.requests.clear()
    clock.advance(runtime.config.acd.max_wait)
    jobs.sweep()
    [redirect] = [r for r in twilio_http.requests if r.data.get("Url")]
    assert redirect.data["Url"].endswith(f"/voice/transfer/{rid}/hold")
    told = twiml(twilio.post(f"/voice/transfer/{rid}/hold", {"CallSid": CALLER_SID}))
    said = " ".join(s.text or "" for s in told.iter("Say"))
    assert "occupés" in said and "17" in said and "119" in said
    assert told.find("Dial") is None and told.find("Hangup") is not None
    assert counsellor.client.get("/incall/api/transfer").get_json()["state"] == "none"
