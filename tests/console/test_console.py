"""The counsellor console: state buttons reach the ACD, the call context, the softphone token."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import jwt
import pytest
from flask import Flask

from acd.model import CounsellorState, WaitingCaller
from acd.store import Acd
from console import views
from console.users import Role, Users
from helpline.clock import FrozenClock, to_ms
from helpline.privacy import pseudonymise
from helpline.runtime import Runtime
from tests.console.conftest import PASSWORD, Session, login, open_session
from tests.twilio_fake import ACCOUNT

CALLER_NUMBER = "+33612345678"
KEY_SID = "SK" + "1" * 32
KEY_SECRET = "apikeysecret0123456789abcdefABCD"  # 32 characters, as Twilio issues
APP_SID = "AP" + "2" * 32


def offer_a_call(
    runtime: Runtime, acd: Acd, clock: FrozenClock, ref: str = "IG-REPORT-42", wait: int = 30
) -> str:
    """Amina is available; a young Instagram caller waits ``wait`` s and is offered to her."""
    acd.set_state("amina", CounsellorState.AVAILABLE)
    sid = "CA" + "7" * 32
    runtime.redis.hset(
        runtime.keys.call(sid),
        mapping={
            "call_sid": sid,
            "caller": pseudonymise(runtime.settings.secret_key, CALLER_NUMBER),
            "platform": "instagram",
            "platform_ref": ref,
            "channel": "app",
            "language": "fr",
            "caller_type": "young",
            "created_at": str(to_ms(clock.now())),
            # Never written by the voice flow; here to prove the console reads a whitelist.
            "from": CALLER_NUMBER,
        },
    )
    queued = acd.enqueue(
        WaitingCaller(sid, "instagram", "young", "fr", "psychologist", 60, clock.now())
    )
    assert queued.queued
    clock.advance(wait)
    reservation = acd.reserve_next()
    assert reservation is not None and reservation.counsellor_id == "amina"
    return reservation.id


# --- state changes ----------------------------------------------------------------------------


def test_counsellor_becomes_available_through_the_console(counsellor: Session, acd: Acd) -> None:
    """The "available" button sets the ACD state; the answer is the console's new data."""
    response = counsellor.post_json("/console/api/state", {"state": "available"})
    assert response.status_code == 200
    assert response.get_json()["counsellor"]["state"] == "available"
    assert acd.get_counsellor("amina").state is CounsellorState.AVAILABLE


def test_break_takes_a_reason_from_the_list(counsellor: Session, acd: Acd) -> None:
    """A break needs one of pause, training, meeting, debrief."""
    ok = counsellor.post_json("/console/api/state", {"state": "break", "reason": "training"})
    assert ok.status_code == 200
    amina = acd.get_counsellor("amina")
    assert amina.state is CounsellorState.BREAK and amina.reason == "training"
    assert ok.get_json()["counsellor"]["reason_label"] == "Formation"
    for body in ({"state": "break", "reason": "lunch"}, {"state": "break"}):
        refused = counsellor.post_json("/console/api/state", body)
        assert refused.status_code == 400 and refused.get_json()["title"] == "bad_reason"
    assert acd.get_counsellor("amina").reason == "training"


def test_log_out_button_sets_the_counsellor_offline(counsellor: Session, acd: Acd) -> None:
    """The "Terminer mon service" button is the ACD's offline."""
    counsellor.post_json("/console/api/state", {"state": "available"})
    response = counsellor.post_json("/console/api/state", {"state": "offline"})
    assert response.status_code == 200
    assert acd.get_counsellor("amina").state is CounsellorState.OFFLINE


@pytest.mark.parametrize("body", [{"state": "on_call"}, {"state": "reserved"}, {}, [1], "x"])
def test_only_the_console_buttons_states_can_be_asked_for(counsellor: Session, body) -> None:
    """States the ACD sets itself (reserved, on call) cannot be chosen; junk is a 400."""
    assert counsellor.post_json("/console/api/state", body).status_code == 400


def test_state_form_works_without_javascript(counsellor: Session, acd: Acd) -> None:
    """The plain form changes the state and comes back to the console with a message."""
    response = counsellor.client.post(
        "/console/state",
        data={"state": "break", "reason": "meeting", "csrf_token": counsellor.csrf},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    assert acd.get_counsellor("amina").reason == "meeting"
    page = counsellor.client.get("/console/").get_data(as_text=True)
    assert "État mis à jour." in page and "Réunion" in page


def test_ending_wrap_up_early_makes_the_counsellor_available(
    counsellor: Session, runtime: Runtime, acd: Acd, clock: FrozenClock
) -> None:
    """After a call, "Terminer le post-appel" is the ACD's available."""
    rid = offer_a_call(runtime, acd, clock)
    acd.accept(rid)
    acd.call_ended(rid)
    data = counsellor.client.get("/console/api/state").get_json()
    assert data["counsellor"]["state"] == "wrap_up" and "available" in data["actions"]
    assert data["counsellor"]["wrap_up_left_s"] == runtime.config.acd.wrap_up
    page = counsellor.client.get("/console/").get_data(as_text=True)
    assert "Terminer le post-appel" in page
    response = counsellor.post_json("/console/api/state", {"state": "available"})
    assert response.status_code == 200
    assert acd.get_counsellor("amina").state is CounsellorState.AVAILABLE


def test_state_change_during_a_call_is_refused_kindly(
    counsellor: Session, runtime: Runtime, acd: Acd, clock: FrozenClock
) -> None:
    """While an offer rings or a call runs, the ACD refuses and the console explains why."""
    rid = offer_a_call(runtime, acd, clock)
    data = counsellor.client.get("/console/api/state").get_json()
    assert data["actions"] == []
    refused = counsellor.post_json("/console/api/state", {"state": "break", "reason": "pause"})
    assert refused.status_code == 409
    assert "fin de l'appel" in refused.get_json()["detail"]
    acd.accept(rid)
    form = counsellor.client.post(
        "/console/state", data={"state": "offline", "csrf_token": counsellor.csrf}
    )
    assert form.status_code == 302
    assert acd.get_counsellor("amina").state is CounsellorState.ON_CALL


def test_becoming_available_asks_the_acd_to_dispatch(
    counsellor: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A counsellor who becomes free is offered a waiting caller now, not at the next sweep."""
    from acd import jobs

    calls: list[object] = []
    monkeypatch.setattr(jobs, "request_dispatch", calls.append, raising=False)
    counsellor.post_json("/console/api/state", {"state": "break", "reason": "pause"})
    assert calls == []
    counsellor.post_json("/console/api/state", {"state": "available"})
    assert len(calls) == 1


def test_a_waiting_caller_is_offered_as_soon_as_the_counsellor_is_available(
    counsellor: Session, runtime: Runtime, acd: Acd, clock: FrozenClock, twilio_http
) -> None:
    """Going available from the console dispatches: the waiting caller rings in the browser."""
    acd.set_state("amina", CounsellorState.BREAK, "pause")  # logged in, so the caller queues
    sid = "CA" + "8" * 32
    acd.enqueue(WaitingCaller(sid, "tiktok", "parent", "fr", "psychologist", 0, clock.now()))
    response = counsellor.post_json("/console/api/state", {"state": "available"})
    assert response.status_code == 200
    amina = acd.get_counsellor("amina")
    assert amina.state is CounsellorState.RESERVED
    assert [r.data.get("To") for r in twilio_http.calls_created()] == ["client:amina"]
    call = counsellor.client.get("/console/api/state").get_json()["call"]
    assert call["status"] == "offered" and call["platform_label"] == "TikTok"


# --- the call's context -------------------------------------------------------------------------


def test_offered_call_shows_platform_caller_type_and_wait_but_no_number(
    counsellor: Session, runtime: Runtime, acd: Acd, clock: FrozenClock
) -> None:
    """The offer's context: platform, caller type, language, waiting time; never the number."""
    offer_a_call(runtime, acd, clock, wait=30)
    clock.advance(5)
    response = counsellor.client.get("/console/api/state")
    data = response.get_json()
    call = data["call"]
    assert data["counsellor"]["state"] == "reserved"
    assert call["status"] == "offered"
    assert (call["platform"], call["platform_label"]) == ("instagram", "Instagram")
    assert (call["caller_type"], call["caller_type_label"]) == ("young", "Jeune")
    assert call["language_label"] == "Français"
    assert call["waited_s"] == 35
    assert 0 < call["expires_in_s"] <= runtime.config.acd.offer_timeout + 5
    assert call["platform_ref"] is None  # shown only once the counsellor is on the call
    text = response.get_data(as_text=True)
    digits = re.sub(r"\D", "", CALLER_NUMBER)
    assert CALLER_NUMBER not in text and digits[-9:] not in text
    assert pseudonymise(runtime.settings.secret_key, CALLER_NUMBER) not in text
    assert "CA" + "7" * 32 not in text


def test_platform_reference_is_shown_to_the_counsellor_on_the_call_only(
    app: Flask,
    counsellor: Session,
    manager: Session,
    runtime: Runtime,
    acd: Acd,
    clock: FrozenClock,
) -> None:
    """The opaque platform reference appears once accepted, escaped, and never to a manager."""
    rid = offer_a_call(runtime, acd, clock, ref="<b>IG&42</b>")
    acd.accept(rid)
    data = counsellor.client.get("/console/api/state").get_json()
    assert data["call"]["status"] == "on_call"
    assert data["call"]["platform_ref"] == "<b>IG&42</b>"
    assert data["call"]["expires_in_s"] is None
    page = counsellor.client.get("/console/").get_data(as_text=True)
    assert "&lt;b&gt;IG&amp;42&lt;/b&gt;" in page and "<b>IG&42</b>" not in page
    seen = manager.client.get("/console/api/state?counsellor=amina").get_json()
    assert seen["call"]["platform"] == "instagram" and seen["call"]["platform_ref"] is None
    assert "IG&amp;42" not in manager.client.get("/console/?counsellor=amina").get_data(
        as_text=True
    )
    assert CALLER_NUMBER not in json.dumps(seen)


def test_no_call_means_an_empty_context(counsellor: Session) -> None:
    """Without an offer or a call the context is empty and the state buttons are offered."""
    data = counsellor.client.get("/console/api/state").get_json()
    assert data["call"] is None and data["readonly"] is False
    assert data["counsellor"]["state_label"] == "Hors ligne"
    assert data["actions"] == ["available", "break"]
    assert data["softphone"] is True


# --- pages --------------------------------------------------------------------------------------


def test_console_page_shows_state_buttons_and_the_softphone_notice(
    counsellor: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page works before any script runs: state, labelled buttons, and an honest notice."""
    monkeypatch.setattr(views, "VOICE_SDK", tmp_path / "absent" / "twilio.min.js")
    page = counsellor.client.get("/console/").get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "Hors ligne" in page and "Je suis disponible" in page
    assert '<label for="reason">Motif de la pause</label>' in page
    for reason in ("Pause", "Formation", "Réunion", "Débriefing"):
        assert f">{reason}</option>" in page
    assert "/console/static/console.js" in page
    assert "vendor/twilio.min.js" not in page  # the SDK is not installed
    assert "Softphone indisponible" in page


def test_console_loads_the_voice_sdk_when_it_is_installed(
    counsellor: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the SDK file present the page loads it before console.js."""
    sdk = tmp_path / "twilio.min.js"
    sdk.write_text("// sdk")
    monkeypatch.setattr(views, "VOICE_SDK", sdk)
    page = counsellor.client.get("/console/").get_data(as_text=True)
    assert page.index("/console/static/vendor/twilio.min.js") < page.index("console.js")
    assert "Connexion du softphone" in page


def test_phone_counsellor_is_told_to_press_one_on_the_phone(
    app: Flask, users: Users, acd: Acd
) -> None:
    """A counsellor reached on a phone number gets no softphone, and the page says so."""
    acd.add_counsellor("basile", "Basile", ["lawyer"], ["fr"], "+33 6 98 76 54 32")
    users.add("basile", Role.COUNSELLOR, PASSWORD)
    session = open_session(app, "basile")
    page = session.client.get("/console/").get_data(as_text=True)
    assert "arrivent sur votre téléphone" in page and "twilio.min.js" not in page
    assert session.client.get("/console/api/state").get_json()["softphone"] is False
    assert "98765432" not in page and "98 76 54 32" not in page


def test_counsellor_without_an_acd_profile_is_told_whom_to_ask(
    app: Flask, users: Users, acd: Acd
) -> None:
    """A login whose counsellor id is not in the ACD gets a clear message, not an error."""
    users.add("zoe", Role.COUNSELLOR, PASSWORD)
    session = open_session(app, "zoe")
    page = session.client.get("/console/")
    assert page.status_code == 200 and "coordination" in page.get_data(as_text=True)
    assert session.client.get("/console/api/state").status_code == 404
    response = session.post_json("/console/api/state", {"state": "available"})
    assert response.status_code == 404 and "coordination" in response.get_json()["detail"]


def test_manager_sees_the_team_and_reads_a_console(manager: Session, acd: Acd, amina) -> None:
    """A duty manager sees every counsellor and opens one console read-only."""
    acd.set_state("amina", CounsellorState.BREAK, "debrief")
    team = manager.client.get("/console/").get_data(as_text=True)
    assert "Amina B." in team and "En pause" in team and "Débriefing" in team
    page = manager.client.get("/console/?counsellor=amina").get_data(as_text=True)
    assert "lecture seule" in page and "Je suis disponible" not in page
    data = manager.client.get("/console/api/state?counsellor=amina").get_json()
    assert data["readonly"] is True and data["actions"] == []
    assert manager.client.get("/console/api/state").status_code == 400
    missing = manager.client.get("/console/?counsellor=nobody").get_data(as_text=True)
    assert "Aucun écoutant" in missing


def test_login_returns_to_the_page_asked_for(app: Flask, users: Users, amina) -> None:
    """After logging in, a manager lands on the console page they first asked for."""
    users.add("claire", Role.MANAGER, PASSWORD)
    client = app.test_client()
    first = client.get("/console/?counsellor=amina")
    assert first.status_code == 302
    response = login(client, "claire", next="/console/?counsellor=amina")
    assert response.headers["Location"] == "/console/?counsellor=amina"


def test_logout_takes_a_browser_counsellor_offline(counsellor: Session, acd: Acd) -> None:
    """Leaving the console (softphone gone) sets a browser counsellor offline."""
    counsellor.post_json("/console/api/state", {"state": "available"})
    counsellor.client.post("/console/logout", data={"csrf_token": counsellor.csrf})
    assert acd.get_counsellor("amina").state is CounsellorState.OFFLINE


def test_static_assets_are_served_with_security_headers(app: Flask) -> None:
    """console.js and console.css are public files (the login page needs the CSS)."""
    client = app.test_client()
    for name in ("console.js", "console.css"):
        response = client.get(f"/console/static/{name}")
        assert response.status_code == 200
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        response.close()


# --- the softphone token ------------------------------------------------------------------------


def test_token_endpoint_answers_503_without_an_api_key(counsellor: Session) -> None:
    """Without TWILIO_API_KEY_SID/SECRET (demo, tests) the softphone is honestly unavailable."""
    response = counsellor.post_json("/console/api/token", {})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["title"] == "softphone_unconfigured"


@pytest.fixture
def with_api_key(runtime: Runtime) -> None:
    """Softphone settings as in production."""
    runtime.settings = dataclasses.replace(
        runtime.settings,
        twilio_api_key_sid=KEY_SID,
        twilio_api_key_secret=KEY_SECRET,
        twilio_twiml_app_sid=APP_SID,
    )


def test_token_endpoint_issues_a_short_voice_token_for_the_counsellors_identity(
    counsellor: Session, with_api_key: None
) -> None:
    """The JWT is signed with the API key, names the counsellor, allows incoming calls, 1 h."""
    response = counsellor.post_json("/console/api/token", {})
    assert response.status_code == 200
    body = response.get_json()
    assert body["identity"] == "amina" and body["ttl"] == 3600
    header = jwt.get_unverified_header(body["token"])
    assert header["cty"] == "twilio-fpa;v=1" and header["alg"] == "HS256"
    claims = jwt.decode(body["token"], KEY_SECRET, algorithms=["HS256"])
    assert claims["iss"] == KEY_SID and claims["sub"] == ACCOUNT
    assert claims["grants"]["identity"] == "amina"
    assert claims["grants"]["voice"]["incoming"] == {"allow": True}
    assert claims["grants"]["voice"]["outgoing"]["application_sid"] == APP_SID
    assert claims["exp"] - claims["nbf"] == 3600
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(body["token"], "another-secret-of-32-characters!", algorithms=["HS256"])


def test_token_endpoint_needs_csrf_and_a_browser_counsellor(
    app: Flask, counsellor: Session, users: Users, acd: Acd, with_api_key: None
) -> None:
    """No token without the CSRF header, nor for a counsellor answering on a phone."""
    assert counsellor.client.post("/console/api/token").status_code == 403
    acd.add_counsellor("basile", "Basile", ["lawyer"], ["fr"], "+33698765432")
    users.add("basile", Role.COUNSELLOR, PASSWORD)
    phone = open_session(app, "basile").post_json("/console/api/token", {})
    assert phone.status_code == 409 and phone.get_json()["title"] == "no_softphone"
