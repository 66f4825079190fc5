"""Supervisor listening: a duty manager joins a live call muted (listen), coaching the
counsellor (whisper) or speaking to both (barge); the counsellor sees it; all audited."""

from __future__ import annotations

import json

from flask import Flask

from acd.store import Acd
from helpline.clock import FrozenClock
from helpline.runtime import Runtime
from tests.conftest import TwilioClient
from tests.incall.conftest import CONFERENCE_SID, COUNSELLOR_LEG, ParticipantsHttp, Session
from tests.incall.conftest import live_call as start_call


def audit(runtime: Runtime, action: str) -> list[dict[str, str]]:
    rows = [f for _, f in runtime.redis.xrange(runtime.keys.audit)]
    return [row for row in rows if row["action"] == action]


def test_manager_listens_muted_then_whispers_then_barges(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    manager: Session,
    counsellor: Session,
    twilio_http: ParticipantsHttp,
) -> None:
    """Listen creates a muted participant at the manager's own client identity; whisper
    updates it to coach the counsellor's leg; barge unmutes it without coaching."""
    rid = start_call(runtime, acd, clock)
    assert counsellor.client.get("/incall/api/presence").get_json() == {
        "supervised": False,
        "mode": None,
    }
    twilio_http.requests.clear()
    joined = manager.post_json("/incall/supervise", {"counsellor": "amina", "mode": "listen"})
    assert joined.status_code == 200, joined.get_data(as_text=True)
    [create] = twilio_http.participants()
    assert create.path.endswith(f"/Conferences/res-{rid}/Participants.json")
    assert create.data["To"] == "client:manager-claire"
    assert create.data["From"] == runtime.config.helpline.caller_id
    assert create.data["Muted"] == "true" and create.data["Coaching"] == "false"
    assert create.data["StatusCallback"].endswith(f"/incall/supervise/{rid}/status")
    assert counsellor.client.get("/incall/api/presence").get_json() == {
        "supervised": True,
        "mode": "listen",
    }

    whisper = manager.post_json("/incall/supervise", {"counsellor": "amina", "mode": "whisper"})
    assert whisper.status_code == 200 and whisper.get_json()["mode"] == "whisper"
    update = twilio_http.participants()[-1]
    leg = update.path.rsplit("/", 1)[-1].removesuffix(".json")
    assert f"/Conferences/{CONFERENCE_SID}/Participants/" in update.path and leg.startswith("CA")
    assert update.data["Coaching"] == "true" and update.data["CallSidToCoach"] == COUNSELLOR_LEG
    assert update.data["Muted"] == "false"

    barge = manager.post_json("/incall/supervise", {"counsellor": "amina", "mode": "barge"})
    assert barge.status_code == 200
    last = twilio_http.participants()[-1]
    assert last.data["Muted"] == "false" and last.data["Coaching"] == "false"
    assert "CallSidToCoach" not in last.data
    assert counsellor.client.get("/incall/api/presence").get_json()["mode"] == "barge"

    [joined_row] = audit(runtime, "incall.supervise")
    assert joined_row["who"] == "claire" and joined_row["target"] == f"reservation:{rid}"
    modes = [json.loads(r["after"])["mode"] for r in audit(runtime, "incall.supervise_mode")]
    assert modes == ["whisper", "barge"]


def test_leaving_ends_the_managers_leg_and_presence(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    manager: Session,
    counsellor: Session,
    twilio_http: ParticipantsHttp,
) -> None:
    """Leave hangs up the manager's leg only; the counsellor no longer sees a supervisor."""
    start_call(runtime, acd, clock)
    manager.post_json("/incall/supervise", {"counsellor": "amina"})
    leg = twilio_http.participants()[-1]
    twilio_http.requests.clear()
    left = manager.post_json("/incall/supervise/leave", {"counsellor": "amina"})
    assert left.status_code == 200
    [hangup] = twilio_http.requests
    assert hangup.data == {"Status": "completed"} and COUNSELLOR_LEG not in hangup.url
    assert leg is not None
    assert counsellor.client.get("/incall/api/presence").get_json()["supervised"] is False
    assert len(audit(runtime, "incall.supervise_leave")) == 1


def test_status_callback_of_the_managers_leg_clears_presence(
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    manager: Session,
    counsellor: Session,
    twilio: TwilioClient,
) -> None:
    """When the manager hangs up their softphone, Twilio's callback ends the supervision;
    an unsigned callback changes nothing."""
    rid = start_call(runtime, acd, clock)
    manager.post_json("/incall/supervise", {"counsellor": "amina"})
    leg = runtime.redis.hget(runtime.keys.incall_supervision(rid), "call_sid")
    path = f"/incall/supervise/{rid}/status"
    form = {"CallSid": leg, "CallStatus": "completed"}
    assert counsellor.client.post(path, data=form).status_code == 403  # not signed
    assert counsellor.client.get("/incall/api/presence").get_json()["supervised"] is True
    other = twilio.post(path, {"CallSid": "CA" + "9" * 32, "CallStatus": "completed"})
    assert other.status_code == 204
    assert counsellor.client.get("/incall/api/presence").get_json()["supervised"] is True
    assert twilio.post(path, form).status_code == 204
    assert counsellor.client.get("/incall/api/presence").get_json()["supervised"] is False


def test_one_supervisor_per_call_and_only_on_a_live_call(
    app: Flask,
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    manager: Session,
    users,
    amina: str,
    twilio_http: ParticipantsHttp,
) -> None:
    """No live call: 409; a second manager on a supervised call: 409; bad mode: 400."""
    from console.users import Role
    from tests.incall.conftest import PASSWORD, open_session

    assert manager.post_json("/incall/supervise", {"counsellor": "amina"}).status_code == 409
    start_call(runtime, acd, clock)
    bad = manager.post_json("/incall/supervise", {"counsellor": "amina", "mode": "shout"})
    assert bad.status_code == 400
    assert manager.post_json("/incall/supervise", {"counsellor": "amina"}).status_code == 200
    users.add("marc", Role.MANAGER, PASSWORD)
    marc = open_session(app, "marc")
    assert marc.post_json("/incall/supervise", {"counsellor": "amina"}).status_code == 409
    assert len(twilio_http.participants()) == 1


def test_supervision_roles_and_csrf(
    app: Flask,
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
    manager: Session,
    counsellor: Session,
    twilio_http: ParticipantsHttp,
) -> None:
    """Anonymous: 401 / redirect; a counsellor cannot supervise; a manager has no presence
    view; no CSRF token: 403; nothing reaches Twilio."""
    start_call(runtime, acd, clock)
    twilio_http.requests.clear()
    anonymous = app.test_client()
    assert anonymous.post("/incall/supervise", json={"counsellor": "amina"}).status_code == 401
    assert anonymous.get("/incall/api/presence").status_code == 401  # a JSON API
    assert counsellor.post_json("/incall/supervise", {"counsellor": "amina"}).status_code == 403
    assert manager.client.get("/incall/api/presence").status_code == 403
    no_token = manager.client.post("/incall/supervise", json={"counsellor": "amina"})
    assert no_token.status_code == 403
    assert twilio_http.participants() == []


def test_manager_token_is_for_the_managers_own_identity(
    manager: Session, counsellor: Session
) -> None:
    """The manager's softphone token (when configured) names ``manager-<login>``; a
    counsellor cannot get one here."""
    assert counsellor.post_json("/incall/api/token", {}).status_code == 403
    response = manager.post_json("/incall/api/token", {})
    assert response.status_code in (200, 503)
    if response.status_code == 200:
        assert response.get_json()["identity"] == "manager-claire"
