"""Enqueue and its waitUrl loop, Leave, patience, and the full offer → dequeue → conference flow."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.simulator.conftest import rest_client

WAIT = 20

ENQUEUE = (
    '<Response><Enqueue waitUrl="/wait" action="/result">support</Enqueue>'
    "<Say>Apres la file.</Say></Response>"
)


def test_wait_url_is_requested_in_a_loop_with_the_queue_parameters(app, sim) -> None:
    """While queued the waitUrl is fetched again each time its document runs out."""
    app.docs["/voice"] = ENQUEUE
    app.docs["/wait"] = '<Response><Say>Merci de patienter.</Say><Pause length="5"/></Response>'
    result = sim.place_call(patience=30).wait(WAIT)
    waits = app.to("/wait")
    assert len(waits) >= 3
    first, last = waits[0].form, waits[-1].form
    assert all(w.signed for w in waits)
    assert first["QueueSid"].startswith("QU") and first["QueuePosition"] == "1"
    assert first["CurrentQueueSize"] == "1" and first["MaxQueueSize"] == "1000"
    assert first["QueueTime"] == "0" and int(last["QueueTime"]) > 0
    assert "AvgQueueTime" in first and first["CallSid"] == result.sid
    assert result.transcript[:2] == ["Merci de patienter.", "Merci de patienter."]


def test_patience_runs_out_and_the_action_hears_hangup(app, sim) -> None:
    """A caller who gives up in the queue is abandoned; the action gets QueueResult=hangup."""
    app.docs["/voice"] = ENQUEUE
    app.docs["/wait"] = "<Response><Play>https://example.invalid/music.mp3</Play></Response>"
    result = sim.place_call(platform="messenger", patience=45).wait(WAIT)
    (action,) = app.to("/result")
    assert action.signed and action.form["QueueResult"] == "hangup"
    assert 44 <= int(action.form["QueueTime"]) < 100
    assert action.form["QueueSid"] == app.to("/wait")[0].form["QueueSid"]
    assert result.outcome == "abandoned" and result.queue_results == ["hangup"]
    assert 45 <= result.wait_seconds < 100
    assert "Apres la file." not in result.transcript
    report = sim.report()
    assert report["abandoned"] == 1 and report["per_platform"]["messenger"]["abandoned"] == 1


def test_leave_continues_after_the_enqueue_without_an_action(app, sim) -> None:
    """Leave takes the caller out of the queue; without action the next verb runs."""
    app.docs["/voice"] = (
        '<Response><Enqueue waitUrl="/wait">support</Enqueue>'
        "<Say>Trop d'attente, rappelez plus tard.</Say></Response>"
    )
    app.docs["/wait"] = "<Response><Leave/></Response>"
    result = sim.place_call().wait(WAIT)
    assert result.transcript == ["Trop d'attente, rappelez plus tard."]
    assert result.queue_results == ["leave"]
    assert result.outcome == "ended_from_queue"


def test_leave_with_an_action_runs_the_actions_twiml(app, sim) -> None:
    """With an action, Leave posts QueueResult=leave and the answer drives the call."""
    app.docs["/voice"] = ENQUEUE
    app.docs["/wait"] = "<Response><Say>Un instant, merci.</Say><Leave/></Response>"
    app.docs["/result"] = "<Response><Say>Debordement.</Say><Hangup/></Response>"
    result = sim.place_call().wait(WAIT)
    (action,) = app.to("/result")
    assert action.form["QueueResult"] == "leave" and int(action.form["QueueTime"]) >= 1
    assert result.transcript == ["Un instant, merci.", "Debordement."]
    assert sim.report()["ended_by_line"]["ended_from_queue"] == 1


def test_a_failing_wait_url_drops_the_caller_from_the_queue(app, sim) -> None:
    """A waitUrl error ends the wait with QueueResult=error; the action's TwiML takes over."""
    app.docs["/voice"] = ENQUEUE
    app.docs["/wait"] = (500, "boom")
    app.docs["/result"] = "<Response><Say>Erreur de file.</Say></Response>"
    result = sim.place_call().wait(WAIT)
    assert app.to("/result")[0].form["QueueResult"] == "error"
    assert result.transcript == ["Erreur de file."]
    assert sim.network_counters()["wait_url_errors"] == 1


def test_rest_dequeue_bridges_the_caller_and_the_counsellor_in_a_conference(app, make_sim) -> None:
    """The ACD's flow: offer by REST call, accept with 1, dequeue by Members, talk, end."""
    sim = make_sim(service_level_seconds=600.0)
    client, http = rest_client(sim)
    state: dict[str, str] = {}
    app.docs["/voice"] = ENQUEUE
    app.docs["/wait"] = "<Response><Play>https://example.invalid/music.mp3</Play></Response>"
    app.docs["/offer/r1"] = (
        '<Response><Gather numDigits="1" action="/offer/r1/accept" timeout="10">'
        "<Say>Appel Instagram en attente. Tapez 1 pour accepter.</Say></Gather>"
        "<Hangup/></Response>"
    )

    def accept(hit):
        assert hit.form["Digits"] == "1"
        member = (
            client.queues(state["queue"])
            .members(state["caller"])
            .update(url=app.url("/bridge/r1"), method="POST")
        )
        state["position"] = str(member.position)
        return (
            '<Response><Dial><Conference endConferenceOnExit="true" beep="false" '
            'statusCallback="/conf" statusCallbackEvent="start end join leave">'
            "r1</Conference></Dial></Response>"
        )

    app.docs["/offer/r1/accept"] = accept
    app.docs["/bridge/r1"] = (
        '<Response><Dial action="/after/r1"><Conference statusCallback="/conf" '
        'statusCallbackEvent="start end join leave">r1</Conference></Dial></Response>'
    )
    app.docs["/after/r1"] = "<Response><Hangup/></Response>"
    try:
        caller = sim.place_call(platform="instagram")
        assert app.wait_for(lambda: bool(app.to("/wait")))
        state["queue"] = app.to("/wait")[0].form["QueueSid"]
        state["caller"] = caller.sid
        members = client.queues(state["queue"]).members.list()
        assert [m.call_sid for m in members] == [caller.sid]
        offer = client.calls.create(
            to="client:amina",
            from_=sim.config.helpline_number,
            url=app.url("/offer/r1"),
            status_callback=app.url("/offer/r1/status"),
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            timeout=20,
        )
        assert offer.status == "queued" and offer.sid.startswith("CA")
        result = caller.wait(WAIT)
        assert app.wait_for(lambda: len(app.to("/offer/r1/status")) == 4)
    finally:
        http.session.close()

    assert state["position"] == "1"
    assert result.outcome == "answered" and result.connected_to == "amina"
    assert result.queue_results == ["redirected"]
    assert app.to("/result")[0].form["QueueResult"] == "redirected"
    after = app.to("/after/r1")[0].form
    assert after["DialCallStatus"] == "answered" and "DialCallSid" not in after
    assert 59 <= result.talk_seconds < 100  # the counsellor's fixed 60 s talk, then hang-up
    statuses = app.to("/offer/r1/status")
    assert [h.form["SequenceNumber"] for h in statuses] == ["0", "1", "2", "3"]
    assert [h.form["CallStatus"] for h in statuses] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    offer_hit = app.to("/offer/r1")[0]
    assert offer_hit.form["Direction"] == "outbound-api" and offer_hit.form["To"] == "client:amina"
    assert app.wait_for(lambda: len(app.to("/conf")) >= 5)
    events = [h.form["StatusCallbackEvent"] for h in app.to("/conf")]
    assert events[0] == "participant-join" and "conference-start" in events
    assert events[-1] == "conference-end"
    assert app.to("/conf")[-1].form["ReasonConferenceEnded"] == (
        "participant-with-end-conference-on-exit-left"
    )
    report = sim.report()
    assert report["answered"] == 1 and report["per_platform"]["instagram"]["answered"] == 1
    assert report["service_level"] == 1.0 and report["asa_seconds"] < 600
    assert report["counsellor_legs"]["connected"] == 1


def test_dequeue_of_a_caller_no_longer_queued_is_a_404(app, sim) -> None:
    """Members update on a call that is not waiting answers Twilio's 404 (20404)."""
    client, http = rest_client(sim)
    app.docs["/voice"] = '<Response><Enqueue waitUrl="">support</Enqueue></Response>'
    caller = sim.place_call()
    try:
        assert caller.wait_for(lambda h: h.leg.member is not None)
        (queue,) = [q for q in client.queues.list() if q.friendly_name == "support"]
        assert queue.current_size == 1
        caller.hangup()
        assert caller.wait(WAIT).outcome == "abandoned"
        with pytest.raises(TwilioRestException) as info:
            client.queues(queue.sid).members(caller.sid).update(url=app.url("/bridge"))
        assert info.value.status == 404 and info.value.code == 20404
    finally:
        http.session.close()


def test_counsellor_who_does_not_answer_ends_no_answer_after_the_timeout(app, make_sim) -> None:
    """An unanswered offer rings for Timeout seconds, then ends no-answer."""
    sim = make_sim(no_answer_probability=1.0)
    client, http = rest_client(sim)
    try:
        call = client.calls.create(
            to="client:amina",
            from_="+33800003018",
            url=app.url("/offer"),
            status_callback=app.url("/status"),
            timeout=20,
        )
        leg = sim.net.calls[call.sid]
        assert leg.done.wait(WAIT)
        fetched = client.calls(call.sid).fetch()
    finally:
        http.session.close()
    assert fetched.status == "no-answer"
    assert leg.ended_at - leg.created_at >= 20
    assert app.to("/offer") == []
    assert app.wait_for(lambda: len(app.to("/status")) == 1)
    assert app.to("/status")[0].form["CallStatus"] == "no-answer"  # completed event only
    assert sim.counsellor_legs()["no_answer"] == 1


def test_rest_redirect_moves_a_live_call_and_status_completed_hangs_it_up(app, sim) -> None:
    """Calls update: Url sends the call to new TwiML at once; Status=completed ends it."""
    client, http = rest_client(sim)
    app.docs["/voice"] = '<Response><Pause length="3600"/></Response>'
    app.docs["/moved"] = '<Response><Say>Deplace.</Say><Pause length="3600"/></Response>'
    try:
        caller = sim.place_call()
        assert caller.wait_for(lambda h: h.leg.answered_at is not None)
        client.calls(caller.sid).update(url=app.url("/moved"))
        assert caller.wait_for(lambda h: h.transcript == ["Deplace."])
        client.calls(caller.sid).update(status="completed")
        result = caller.wait(WAIT)
    finally:
        http.session.close()
    assert result.ended_by == "api" and result.status == "completed"
    assert result.outcome == "closed_or_ended_before_queue"


def test_dial_number_bridges_to_a_counsellor_and_reports_to_the_action(app, sim) -> None:
    """Dial Number: the dialled counsellor answers, talks, hangs up; the action is told."""
    app.docs["/voice"] = (
        '<Response><Dial action="/dialled" timeout="20" callerId="+33800003018">'
        "<Number>+33612345678</Number></Dial></Response>"
    )
    app.docs["/dialled"] = "<Response><Hangup/></Response>"
    result = sim.place_call().wait(WAIT)
    form = app.to("/dialled")[0].form
    assert form["DialCallStatus"] == "completed" and form["DialBridged"] == "true"
    assert form["DialCallSid"].startswith("CA") and 59 <= int(form["DialCallDuration"]) < 100
    child = sim.net.calls[form["DialCallSid"]]
    assert child.parent_sid == result.sid and child.from_ == "+33800003018"
    assert result.outcome == "answered"


def test_dial_that_nobody_answers_reports_no_answer(app, make_sim) -> None:
    """Dial timeout without an answer: DialCallStatus=no-answer and the call goes on."""
    sim = make_sim(no_answer_probability=1.0)
    app.docs["/voice"] = (
        '<Response><Dial timeout="10"><Client>amina</Client></Dial>'
        "<Say>Personne ne repond.</Say></Response>"
    )
    result = sim.place_call().wait(WAIT)
    assert result.transcript == ["Personne ne repond."]
    assert result.outcome == "closed_or_ended_before_queue"
    child = next(leg for leg in sim.net.calls.values() if leg.parent_sid == result.sid)
    assert child.done.wait(WAIT)
    assert child.status == "no-answer" and child.to == "client:amina"


def test_without_end_on_exit_the_other_side_is_left_alone_and_hangs_up(app, sim) -> None:
    """The counsellor leaves after the talk; the caller, alone, hangs up shortly after."""
    client, http = rest_client(sim)
    app.docs["/voice"] = (
        '<Response><Dial action="/after"><Conference>r2</Conference></Dial></Response>'
    )
    app.docs["/offer"] = "<Response><Dial><Conference>r2</Conference></Dial></Response>"
    try:
        caller = sim.place_call(platform="facebook")
        assert caller.wait_for(lambda h: h.leg.participant is not None)
        client.calls.create(to="client:lea", from_="+33800003018", url=app.url("/offer"))
        result = caller.wait(WAIT)
    finally:
        http.session.close()
    assert result.outcome == "answered" and result.connected_to == "lea"
    assert result.ended_by == "caller" and result.end_reason == "lonely"
    assert 59 <= result.talk_seconds < 100
    # The caller hung up: the Dial action is still requested, its answer ignored.
    assert [h.form["DialCallStatus"] for h in app.to("/after")] == ["answered"]
    conf = next(iter(sim.net.conferences.values()))
    assert conf.status == "completed" and conf.reason_ended == "last-participant-left"


def test_a_conference_that_never_starts_plays_its_wait_url_then_the_caller_gives_up(
    app, make_sim
) -> None:
    """Alone in a conference: the waitUrl plays; after lonely_timeout the caller hangs up."""
    sim = make_sim(lonely_timeout=30.0)
    app.docs["/voice"] = (
        '<Response><Dial><Conference waitUrl="/confwait">r3</Conference></Dial></Response>'
    )
    app.docs["/confwait"] = "<Response><Say>Un conseiller arrive.</Say></Response>"
    result = sim.place_call().wait(WAIT)
    assert result.transcript == ["Un conseiller arrive."]
    assert result.outcome == "hung_up_elsewhere" and result.end_reason == "lonely"
    assert app.to("/confwait")[0].form["FriendlyName"] == "r3"


def test_a_load_can_run_in_the_background(app, sim) -> None:
    """start_load returns at once; its future gives the report."""
    app.docs["/voice"] = "<Response><Hangup/></Response>"
    future = sim.start_load(rate=60, duration=20, drain=10)
    report = future.result(timeout=WAIT)
    assert report["offered"] == report["ended_by_line"]["closed_or_ended_before_queue"]
    assert report["no_outcome"] == 0
