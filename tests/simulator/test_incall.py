"""The in-call tools as the network plays them: participants dialled into a conference by
REST (services, duty managers), who hears whom, and callbacks to waiting callers."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from twilio.base.exceptions import TwilioRestException

from simulator.cli import simulate
from tests.simulator.conftest import ACCOUNT_SID, AUTH_TOKEN, rest_client

WAIT = 20
HELPLINE = "+33800003018"
ROOM = '<Response><Dial><Conference beep="false">{name}</Conference></Dial></Response>'


def _caller_with_counsellor(app, sim, rest, name: str = "res-r1"):
    """A caller and client:amina talking in conference ``name``: (caller handle, amina leg)."""
    app.docs["/voice"] = ROOM.format(name=name)
    caller = sim.place_call()
    call = rest.calls.create(to="client:amina", from_=HELPLINE, twiml=ROOM.format(name=name))
    amina = sim.net.calls[call.sid]
    assert caller.wait_for(lambda h: h.leg.connected_at is not None)
    return caller, amina


def _in_conference(leg) -> bool:
    return leg.participant is not None and leg.participant.conference.started


def test_a_service_is_dialled_into_the_conference_by_its_name_and_stays(app, make_sim) -> None:
    """Participants create by friendly name: 17 answers, joins caller and counsellor, and
    stays with the caller when the counsellor leaves."""
    sim = make_sim(handle_time_mean=100_000.0)
    client, http = rest_client(sim)
    try:
        caller, amina = _caller_with_counsellor(app, sim, client)
        created = client.conferences("res-r1").participants.create(
            from_=HELPLINE, to="17", early_media=True, end_conference_on_exit=False, beep=False,
            label="service",
        )  # fmt: skip
        conf = sim.conference("res-r1")
        assert created.call_sid.startswith("CA") and created.conference_sid == conf.sid
        assert created.status in ("queued", "ringing") and created.label == "service"
        (service,) = sim.legs_to("17")
        assert service.role == "service" and service.direction == "outbound-api"
        assert caller.wait_for(lambda h: _in_conference(service))
        fetched = client.conferences(conf.sid).participants("service").fetch()
        assert fetched.call_sid == service.sid and fetched.status == "connected"
        heard = sim.who_hears("res-r1")
        assert heard[caller.sid] == {amina.sid, service.sid}
        assert heard[service.sid] == {caller.sid, amina.sid}
        sim.hangup_leg(amina.sid)
        assert amina.done.wait(WAIT)
        # The caller is not alone: a service is someone to talk to (50 simulated seconds).
        assert not caller.wait_for(lambda h: h.done, timeout=0.5)
        assert service.live and sim.who_hears("res-r1")[caller.sid] == {service.sid}
        caller.hangup()
        result = caller.wait(WAIT)
        assert service.done.wait(WAIT) and service.status == "completed"
    finally:
        http.session.close()
    assert result.outcome == "answered" and result.connected_to == "amina"
    assert sim.report()["service_legs"]["answered"] == 1
    assert sim.report()["counsellor_legs"]["placed"] == 1  # the service is not a counsellor


def test_participant_create_checks_its_conference_and_parameters(app, sim, rest) -> None:
    """Unknown conference SID: 404; no To: 400; Coaching without CallSidToCoach: 400."""
    caller, _amina = _caller_with_counsellor(app, sim, rest)
    with pytest.raises(TwilioRestException) as unknown:
        rest.conferences("CF" + "0" * 32).participants.create(from_=HELPLINE, to="17")
    assert unknown.value.status == 404
    with pytest.raises(TwilioRestException) as no_to:
        rest.conferences("res-r1").participants.create(from_=HELPLINE, to="")
    assert no_to.value.status == 400
    with pytest.raises(TwilioRestException) as coach:
        rest.conferences("res-r1").participants.create(
            from_=HELPLINE, to="client:manager-claire", coaching=True
        )
    assert coach.value.status == 400
    assert sim.legs_to("17") == [] and sim.legs_to("client:manager-claire") == []
    caller.hangup()
    caller.wait(WAIT)


def test_listen_whisper_and_barge_decide_who_hears_the_supervisor(app, make_sim) -> None:
    """Muted: nobody hears the manager; coaching: only the counsellor; barge: both. The
    manager hears the call throughout and leaving ends only their leg."""
    sim = make_sim(handle_time_mean=100_000.0)
    client, http = rest_client(sim)
    try:
        caller, amina = _caller_with_counsellor(app, sim, client)
        created = client.conferences("res-r1").participants.create(
            from_=HELPLINE, to="client:manager-claire", muted=True, beep=False,
            end_conference_on_exit=False,
        )  # fmt: skip
        (manager,) = sim.legs_to("client:manager-claire")
        assert manager.role == "supervisor"
        assert caller.wait_for(lambda h: _in_conference(manager))
        listen = sim.who_hears("res-r1")
        assert listen[manager.sid] == set()
        assert manager.sid in listen[caller.sid] and manager.sid in listen[amina.sid]
        conf_sid = created.conference_sid
        whisper = (
            client.conferences(conf_sid)
            .participants(manager.sid)
            .update(muted=False, coaching=True, call_sid_to_coach=amina.sid)
        )
        assert whisper.coaching is True and whisper.call_sid_to_coach == amina.sid
        assert sim.who_hears("res-r1")[manager.sid] == {amina.sid}
        barge = (
            client.conferences(conf_sid)
            .participants(manager.sid)
            .update(muted=False, coaching=False)
        )
        assert barge.coaching is False and barge.call_sid_to_coach is None
        assert sim.who_hears("res-r1")[manager.sid] == {caller.sid, amina.sid}
        log = sim.conference("res-r1").hearing_log  # who heard the manager, change by change
        seen = [heard[manager.sid] for _t, _event, heard in log if manager.sid in heard]
        changes = [h for i, h in enumerate(seen) if i == 0 or h != seen[i - 1]]
        assert changes == [set(), {amina.sid}, {caller.sid, amina.sid}]
        client.calls(manager.sid).update(status="completed")
        assert manager.done.wait(WAIT)
        assert caller.leg.live and amina.live
        assert sim.who_hears("res-r1")[caller.sid] == {amina.sid}
    finally:
        http.session.close()
    caller.hangup()
    caller.wait(WAIT)
    assert sim.report()["supervisor_legs"]["placed"] == 1


def test_a_participant_nobody_answers_never_joins(app, make_sim) -> None:
    """A service that does not pick up: the participant fails after its Timeout, the call
    goes on between caller and counsellor."""
    sim = make_sim(services={"112": {"answers": False}}, handle_time_mean=100_000.0)
    client, http = rest_client(sim)
    try:
        caller, amina = _caller_with_counsellor(app, sim, client)
        created = client.conferences("res-r1").participants.create(
            from_=HELPLINE, to="112", timeout=5
        )
        (service,) = sim.legs_to("112")
        assert service.done.wait(WAIT) and service.status == "no-answer"
        assert created.call_sid == service.sid
        conf = sim.conference("res-r1")
        assert set(conf.participants) == {caller.sid, amina.sid} and not conf.pending
    finally:
        http.session.close()
    caller.hangup()
    caller.wait(WAIT)


VIRTUAL_HOLD = {
    "/voice": '<Response><Enqueue waitUrl="/wait" action="/left">attente</Enqueue></Response>',
    "/wait": (
        '<Response><Gather numDigits="1" action="/offer" timeout="3">'
        "<Say>Tapez 1 pour etre rappele.</Say></Gather>"
        "<Play>https://example.invalid/music.mp3</Play></Response>"
    ),
    "/left": "<Response><Say>A tout de suite.</Say><Hangup/></Response>",
}


def _virtual_hold(app) -> None:
    app.docs.update(VIRTUAL_HOLD)

    def offer(hit):
        if hit.form.get("Digits") == "1":
            return "<Response><Say>Nous vous rappelons.</Say><Leave/></Response>"
        return "<Response><Redirect>/wait</Redirect></Response>"

    app.docs["/offer"] = offer


def test_a_caller_who_accepts_a_callback_is_called_back_and_talks(app, sim, rest) -> None:
    """The Gather in the waitUrl applies to the queued call (Leave); the app's call to the
    caller's number is answered by that caller, who joins a counsellor: answered."""
    _virtual_hold(app)
    number = "+33611223344"
    caller = sim.place_call(from_=number, digits=["1"])
    first = caller.wait(WAIT)
    assert first.queue_results == ["leave"] and app.to("/left")[0].form["QueueResult"] == "leave"
    assert "Nous vous rappelons." in first.transcript
    call = rest.calls.create(to=number, from_=HELPLINE, twiml=ROOM.format(name="res-cb"))
    back = sim.net.calls[call.sid]
    assert back.role == "caller" and caller.callbacks == [back]
    rest.calls.create(to="client:amina", from_=HELPLINE, twiml=ROOM.format(name="res-cb"))
    assert back.done.wait(WAIT)
    result = caller.result()
    assert result.outcome == "answered" and result.callbacks[0]["connected"] is True
    assert result.wait_seconds is not None and result.wait_seconds > 0
    report = sim.report()
    assert report["answered"] == 1 and report["ended_by_line"]["ended_from_queue"] == 0
    assert report["callbacks"] == {
        "requested": 1, "callers_called_back": 1, "placed": 1, "answered": 1,
        "unanswered": 0, "connected": 1,
    }  # fmt: skip
    assert report["callers_called_back"][0]["sid"] == caller.sid
    assert "Callbacks: requested 1, callers_called_back 1, placed 1" in sim.report_text()


def test_a_callback_the_caller_does_not_pick_up_is_counted_unanswered(app, make_sim) -> None:
    """Per-number override: the callback rings out (no-answer); the caller stays an overflow."""
    number = "+33699887766"
    sim = make_sim(callbacks={number: {"answers": False}})
    _virtual_hold(app)
    client, http = rest_client(sim)
    try:
        caller = sim.place_call(from_=number, digits=["1"])
        caller.wait(WAIT)
        call = client.calls.create(
            to=number, from_=HELPLINE, twiml=ROOM.format(name="x"), timeout=10
        )
        assert sim.net.calls[call.sid].done.wait(WAIT)
    finally:
        http.session.close()
    assert sim.net.calls[call.sid].status == "no-answer"
    report = sim.report()
    assert report["callbacks"]["placed"] == 1 and report["callbacks"]["unanswered"] == 1
    assert report["ended_by_line"]["ended_from_queue"] == 1 and report["answered"] == 0


@pytest.mark.parametrize(("probability", "presses"), [(1.0, 1), (0.0, 0)])
def test_load_callers_accept_the_queue_offer_with_the_configured_probability(
    app, make_sim, probability: float, presses: int
) -> None:
    """callback_accept_probability: a load caller presses the callback key at a waitUrl
    Gather (and nowhere else, press_probability being 0)."""
    sim = make_sim(callback_accept_probability=probability, callback_key="1")
    _virtual_hold(app)
    caller = sim.place_call(patience=20)
    result = caller.wait(WAIT)
    assert [h.form["Digits"] for h in app.to("/offer")] == ["1"] * presses
    assert result.outcome == ("ended_from_queue" if presses else "abandoned")
    assert sim.report()["callbacks"]["requested"] == presses


def test_cli_takes_the_in_call_options_and_reports_callbacks(app) -> None:
    """--callback-accept-probability and friends reach the run; the JSON has the figures."""
    _virtual_hold(app)
    result = CliRunner().invoke(
        simulate,
        [
            "--voice-url", app.url("/voice"),
            "--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN,
            "--rate", "30", "--duration", "10", "--drain", "15", "--speed", "300",
            "--seed", "3", "--patience", "0", "--press-probability", "0",
            "--callback-accept-probability", "1", "--callback-key", "1",
            "--callback-answer-probability", "0.5", "--services", "17,+33100000119",
            "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["offered"] > 0
    assert report["callbacks"]["requested"] == report["offered"]
    assert report["ended_by_line"]["ended_from_queue"] == report["offered"]


def test_conference_coach_attribute_makes_a_twiml_participant_whisper(app, make_sim) -> None:
    """<Conference coach="CA…">: the joining leg is heard only by the leg it coaches."""
    sim = make_sim(handle_time_mean=100_000.0)
    client, http = rest_client(sim)
    try:
        caller, amina = _caller_with_counsellor(app, sim, client)
        twiml = (
            f'<Response><Dial><Conference coach="{amina.sid}">res-r1</Conference></Dial></Response>'
        )
        call = client.calls.create(to="client:manager-claire", from_=HELPLINE, twiml=twiml)
        manager = sim.net.calls[call.sid]
        assert caller.wait_for(lambda h: _in_conference(manager))
        heard = sim.who_hears("res-r1")
        assert heard[manager.sid] == {amina.sid}
        assert manager.sid in heard[caller.sid]  # the coach hears the whole call
    finally:
        http.session.close()
    caller.hangup()
    caller.wait(WAIT)
