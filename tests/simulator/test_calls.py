"""Inbound calls: signed webhooks, Twilio's parameters, Say/Gather/Redirect/Hangup, fallback."""

from __future__ import annotations

import time

from simulator.interpreter import APPLICATION_ERROR_TEXT
from tests.simulator.conftest import ACCOUNT_SID

WAIT = 20  # real seconds: a generous ceiling, never reached by a passing test


def test_inbound_webhook_is_signed_and_carries_twilios_parameters(app, sim) -> None:
    """The first request is a signed POST to the Voice URL with the standard parameters."""
    app.docs["/voice"] = "<Response><Say>Bonjour, ici le 3018.</Say><Hangup/></Response>"
    result = sim.place_call(platform="phone").wait(WAIT)
    (hit,) = app.to("/voice")
    assert hit.signed and hit.method == "POST"
    p = hit.form
    assert p["CallSid"] == result.sid and p["CallSid"].startswith("CA") and len(p["CallSid"]) == 34
    assert p["AccountSid"] == ACCOUNT_SID
    assert p["From"].startswith("+33") and p["Caller"] == p["From"]
    assert p["To"] == sim.config.helpline_number and p["Called"] == p["To"]
    assert p["Direction"] == "inbound" and p["CallStatus"] == "ringing"
    assert p["ApiVersion"] == "2010-04-01"
    assert result.transcript == ["Bonjour, ici le 3018."]
    assert result.outcome == "closed_or_ended_before_queue"
    assert result.status == "completed"


def test_in_app_call_comes_from_a_client_identity_with_its_platform_on_the_first_request(
    app, sim
) -> None:
    """Voice SDK calls come from client:… and carry custom parameters, first request only."""
    app.docs["/voice"] = "<Response><Redirect>/next</Redirect></Response>"
    app.docs["/next"] = "<Response><Hangup/></Response>"
    sim.place_call(platform="instagram", params={"report_ref": "r-42"}).wait(WAIT)
    first, then = app.to("/voice")[0], app.to("/next")[0]
    assert first.form["From"].startswith("client:")
    assert first.form["platform"] == "instagram" and first.form["report_ref"] == "r-42"
    assert first.form["ApplicationSid"].startswith("AP")
    assert "platform" not in then.form and then.form["CallStatus"] == "in-progress"
    assert first.signed and then.signed


def test_sip_call_carries_the_platform_as_a_sip_header(app, sim) -> None:
    """A SIP trunk's X- headers arrive as SipHeader_X-… parameters."""
    app.docs["/voice"] = "<Response><Hangup/></Response>"
    sim.place_call(platform="tiktok", channel="sip").wait(WAIT)
    form = app.to("/voice")[0].form
    assert form["SipHeader_X-Platform"] == "tiktok" and form["From"].startswith("sip:")


def test_gather_posts_the_digits_to_its_action(app, sim) -> None:
    """Keys pressed at a Gather are posted as Digits to the action; the rest is unreachable."""
    app.docs["/voice"] = (
        '<Response><Gather numDigits="1" action="/menu" timeout="5">'
        "<Say>Pour parler a quelqu'un, tapez 1.</Say></Gather>"
        "<Say>Nous n'avons rien entendu.</Say></Response>"
    )
    app.docs["/menu"] = "<Response><Say>Merci.</Say></Response>"
    result = sim.place_call(digits=["1"]).wait(WAIT)
    (menu,) = app.to("/menu")
    assert menu.signed and menu.form["Digits"] == "1"
    assert result.transcript == ["Pour parler a quelqu'un, tapez 1.", "Merci."]


def test_gather_without_input_falls_through_to_the_next_verb(app, sim) -> None:
    """Silence is not an answer: after the timeout the next verb runs, the action is not hit."""
    app.docs["/voice"] = (
        '<Response><Gather numDigits="1" action="/menu"><Say>Tapez 1.</Say></Gather>'
        "<Say>Sans reponse, nous continuons.</Say><Redirect>/after</Redirect></Response>"
    )
    app.docs["/after"] = "<Response><Hangup/></Response>"
    result = sim.place_call(digits=[""]).wait(WAIT)
    assert app.to("/menu") == []
    assert len(app.to("/after")) == 1
    assert result.transcript == ["Tapez 1.", "Sans reponse, nous continuons."]


def test_gather_without_action_posts_to_the_current_document_and_stops_at_finish_key(
    app, sim
) -> None:
    """No action: the digits go to the document's own URL; # ends the input and is not sent."""
    calls = []

    def voice(hit):
        calls.append(hit)
        if "Digits" in hit.form:
            return "<Response><Hangup/></Response>"
        return "<Response><Gather><Say>Votre code ?</Say></Gather></Response>"

    app.docs["/voice"] = voice
    sim.place_call(digits=["42#"]).wait(WAIT)
    assert [c.form.get("Digits") for c in calls] == [None, "42"]
    assert calls[1].form["FinishedOnKey"] == "#"


def test_redirect_resolves_relative_urls_and_signs_get_requests(app, sim) -> None:
    """Relative URLs resolve against the current document; GET puts parameters in the query."""
    app.docs["/voice"] = '<Response><Redirect method="GET">/flow/step1</Redirect></Response>'
    app.docs["/flow/step1"] = "<Response><Redirect>step2?x=1</Redirect></Response>"
    app.docs["/flow/step2"] = "<Response><Say>Fin.</Say></Response>"
    result = sim.place_call().wait(WAIT)
    (get,) = app.to("/flow/step1")
    (post,) = app.to("/flow/step2")
    assert get.method == "GET" and get.signed and get.args["CallSid"] == result.sid
    assert post.method == "POST" and post.signed and post.args == {"x": "1"}
    assert result.transcript == ["Fin."]


def test_hangup_ends_the_call_even_with_verbs_after_it(app, sim) -> None:
    """Hangup ends the call; the verbs after it never run."""
    app.docs["/voice"] = "<Response><Say>Un.</Say><Hangup/><Say>Deux.</Say></Response>"
    result = sim.place_call().wait(WAIT)
    assert result.transcript == ["Un."]
    assert result.ended_by == "line"


def test_reject_leaves_the_call_unanswered(app, make_sim) -> None:
    """A first-verb Reject ends the call busy or no-answer without answering it."""
    app.docs["/voice"] = '<Response><Reject reason="busy"/></Response>'
    sim = make_sim(status_callback_url=app.url("/status"))
    result = sim.place_call().wait(WAIT)
    assert result.status == "busy"
    assert app.wait_for(lambda: any(h.form["CallStatus"] == "busy" for h in app.to("/status")))
    assert "in-progress" not in [h.form["CallStatus"] for h in app.to("/status")]


def test_status_callbacks_come_in_order_with_increasing_sequence_numbers(app, make_sim) -> None:
    """initiated, ringing, answered, completed: SequenceNumber 0, 1, 2, 3; CallDuration last."""
    app.docs["/voice"] = '<Response><Pause length="10"/><Hangup/></Response>'
    sim = make_sim(status_callback_url=app.url("/status"))
    sim.place_call().wait(WAIT)
    assert app.wait_for(lambda: len(app.to("/status")) == 4)
    hits = app.to("/status")
    assert [h.form["SequenceNumber"] for h in hits] == ["0", "1", "2", "3"]
    assert [h.form["CallStatus"] for h in hits] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert all(h.signed and h.form["CallbackSource"] == "call-progress-events" for h in hits)
    assert int(hits[-1].form["CallDuration"]) >= 10
    assert "Timestamp" in hits[-1].form


def test_fallback_url_answers_when_the_voice_url_fails(app, make_sim) -> None:
    """A 500 from the Voice URL sends Twilio to the fallback URL with ErrorCode and ErrorUrl."""
    app.docs["/voice"] = (500, "boom")
    app.docs["/fallback"] = "<Response><Say>Un souci technique, rappelez-nous.</Say></Response>"
    sim = make_sim(fallback_url=app.url("/fallback"))
    result = sim.place_call().wait(WAIT)
    (fallback,) = app.to("/fallback")
    assert fallback.signed
    assert fallback.form["ErrorCode"] == "11200" and fallback.form["ErrorUrl"] == app.url("/voice")
    assert result.transcript == ["Un souci technique, rappelez-nous."]
    assert result.outcome == "closed_or_ended_before_queue"
    assert sim.network_counters()["fallback_used"] == 1


def test_application_error_when_the_fallback_fails_too(app, make_sim) -> None:
    """Both failing: the caller hears Twilio's application error and the call ends."""
    app.docs["/voice"] = (503, "down")
    app.docs["/fallback"] = (500, "down too")
    sim = make_sim(fallback_url=app.url("/fallback"))
    result = sim.place_call().wait(WAIT)
    assert result.transcript == [APPLICATION_ERROR_TEXT]
    assert result.outcome == "application_error" and result.app_error == 11200
    assert sim.report()["application_errors"] == 1


def test_invalid_twiml_is_an_application_error(app, sim) -> None:
    """Malformed XML (12100) or an unknown verb (12200) end the call like Twilio does."""
    app.docs["/voice"] = "<Response><Say>oops</Response>"
    first = sim.place_call().wait(WAIT)
    app.docs["/voice"] = "<Response><Dance/></Response>"
    second = sim.place_call().wait(WAIT)
    assert (first.app_error, second.app_error) == (12100, 12200)
    assert first.transcript == second.transcript == [APPLICATION_ERROR_TEXT]


def test_a_slow_voice_url_times_out_into_the_fallback(app, make_sim) -> None:
    """A webhook slower than the timeout counts as failed (11205), as Twilio's 15 s."""

    def slow(_hit):
        time.sleep(0.5)
        return "<Response/>"

    app.docs["/voice"] = slow
    app.docs["/fallback"] = "<Response><Say>Secours.</Say></Response>"
    sim = make_sim(fallback_url=app.url("/fallback"), webhook_timeout=0.2)
    result = sim.place_call().wait(WAIT)
    assert app.to("/fallback")[0].form["ErrorCode"] == "11205"
    assert result.transcript == ["Secours."]


def test_speed_factor_scales_every_duration(app, make_sim) -> None:
    """A 30-second pause takes 30 simulated seconds and 30/speed real seconds, no less."""
    app.docs["/voice"] = '<Response><Pause length="30"/><Say>Fin.</Say></Response>'
    sim = make_sim(speed=60.0)
    started = time.monotonic()
    result = sim.place_call().wait(WAIT)
    elapsed = time.monotonic() - started
    assert elapsed >= 30 / 60
    leg = sim.net.calls[result.sid]
    assert leg.ended_at - leg.answered_at >= 30
    assert sim.clock.real(30) == 0.5
