"""Safeguarding escalation: 17, 112 or 119 join the counsellor's own call by REST; the number
comes from the configuration only; recorded as an event and in the audit trail."""

from __future__ import annotations

import pytest
from flask import Flask

from acd.store import Acd
from helpline.clock import FrozenClock
from helpline.runtime import Runtime
from tests.incall.conftest import (
    CONFERENCE_SID,
    COUNSELLOR_LEG,
    ParticipantsHttp,
    Session,
    live_call,
)


def events(runtime: Runtime, what: str) -> list[dict[str, str]]:
    return [f for _, f in runtime.redis.xrange(runtime.keys.events) if f["what"] == what]


@pytest.mark.parametrize(
    ("target", "number"), [("police", "17"), ("emergency", "112"), ("child_protection", "119")]
)
def test_counsellor_brings_a_service_into_the_conference(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    twilio_http: ParticipantsHttp,
    target: str,
    number: str,
) -> None:
    """A participant is created in ``res-<rid>``: To from config, From the helpline's number,
    early media, the conference kept when the service hangs up; event and audit recorded."""
    rid = live_call(runtime, acd, clock)
    twilio_http.requests.clear()
    response = counsellor.post_json("/incall/escalate", {"target": target})
    assert response.status_code == 201, response.get_data(as_text=True)
    request, keep = twilio_http.participants()
    assert request.method == "POST"
    assert request.path.endswith(f"/Conferences/res-{rid}/Participants.json")
    assert request.data["To"] == number
    assert request.data["From"] == runtime.config.helpline.caller_id
    assert request.data["EarlyMedia"] == "true"
    assert request.data["EndConferenceOnExit"] == "false"
    # The counsellor hanging up no longer ends the call: the child stays with the service.
    assert keep.path.endswith(f"/Conferences/{CONFERENCE_SID}/Participants/{COUNSELLOR_LEG}.json")
    assert keep.data == {"EndConferenceOnExit": "false"}
    [event] = events(runtime, "incall.escalated")
    assert event["rid"] == rid and event["target"] == target and event["by"] == "amina"
    assert event["at"] == str(int(clock.now().timestamp() * 1000))
    [audit] = [f for _, f in runtime.redis.xrange(runtime.keys.audit)]
    assert audit["who"] == "amina" and audit["action"] == "incall.escalate"


def test_a_number_in_the_request_is_never_dialled(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    twilio_http: ParticipantsHttp,
) -> None:
    """Only the configured services can be asked for: a number or an extra ``to`` is ignored."""
    live_call(runtime, acd, clock)
    twilio_http.requests.clear()
    refused = counsellor.post_json("/incall/escalate", {"target": "+33699999999"})
    assert refused.status_code == 400
    ok = counsellor.post_json("/incall/escalate", {"target": "police", "to": "+33699999999"})
    assert ok.status_code == 201
    assert [r.data.get("To") for r in twilio_http.participants()] == ["17", None]


def test_double_click_dials_once(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    twilio_http: ParticipantsHttp,
) -> None:
    """A second request for the same service within seconds does not dial it again."""
    live_call(runtime, acd, clock)
    assert counsellor.post_json("/incall/escalate", {"target": "police"}).status_code == 201
    again = counsellor.post_json("/incall/escalate", {"target": "police"})
    assert again.status_code == 409
    assert len([r for r in twilio_http.participants() if "To" in r.data]) == 1


def test_refused_without_a_live_call_of_ones_own(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    other_counsellor: Session,
    twilio_http: ParticipantsHttp,
) -> None:
    """Bruno cannot escalate Amina's call; Amina cannot escalate when not on a call."""
    assert counsellor.post_json("/incall/escalate", {"target": "police"}).status_code == 409
    live_call(runtime, acd, clock)
    twilio_http.requests.clear()
    assert other_counsellor.post_json("/incall/escalate", {"target": "police"}).status_code == 409
    assert twilio_http.participants() == []
    assert events(runtime, "incall.escalated") == []


def test_twilio_failure_is_reported_and_can_be_retried(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    twilio_http: ParticipantsHttp,
) -> None:
    """A REST error answers 502 and records a failure event; a retry dials again."""
    live_call(runtime, acd, clock)
    twilio_http.fail_next = [500]
    failed = counsellor.post_json("/incall/escalate", {"target": "emergency"})
    assert failed.status_code == 502
    assert len(events(runtime, "incall.escalation_failed")) == 1
    assert counsellor.post_json("/incall/escalate", {"target": "emergency"}).status_code == 201


def test_escalation_roles_and_csrf(
    app: Flask,
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    counsellor: Session,
    manager: Session,
    twilio_http: ParticipantsHttp,
) -> None:
    """Anonymous: 401; a manager: 403; no CSRF token: 403; nothing is dialled."""
    live_call(runtime, acd, clock)
    twilio_http.requests.clear()
    assert app.test_client().post("/incall/escalate", json={"target": "police"}).status_code == 401
    assert manager.post_json("/incall/escalate", {"target": "police"}).status_code == 403
    no_token = counsellor.client.post("/incall/escalate", json={"target": "police"})
    assert no_token.status_code == 403
    assert twilio_http.participants() == []
