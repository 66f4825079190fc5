"""The voice webhooks end to end over HTTP, signed like Twilio, with the ACD faked."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from acd.model import EnqueueResult, Outcome
from helpline.clock import FrozenClock
from helpline.runtime import Runtime
from helpline.signature import sign
from ivr import hours_store
from ivr.hours import Kind
from tests.conftest import AUTH_TOKEN
from tests.ivr.conftest import PUBLIC, FakeAcd, call_form, said, sid, twiml, verbs

PARIS = ZoneInfo("Europe/Paris")


def answer_menus(twilio, n: int, *digits: str | None) -> list:
    """Post each menu answer in turn (None: silence, no Digits field)."""
    roots = []
    for step, pressed in zip(("language", "consent", "caller_type"), digits, strict=False):
        form = {"CallSid": sid(n), "Direction": "inbound"}
        if pressed is not None:
            form["Digits"] = pressed
        roots.append(twiml(twilio.post(f"/voice/menu/{step}", form)))
    return roots


def stored(runtime: Runtime, n: int = 1) -> dict[str, str]:
    return runtime.redis.hgetall(runtime.keys.call(sid(n)))


def test_open_line_welcomes_then_asks_the_language_without_requiring_a_key(
    twilio, fake_acd: FakeAcd
) -> None:
    """Welcome and information first, then a <Gather> that continues on silence."""
    root = twiml(twilio.post("/voice/incoming", call_form()))
    assert verbs(root) == ["Say", "Say", "Gather", "Redirect"]
    welcome, information = root.findall("Say")
    assert welcome.get("voice") == "Polly.Lea" and welcome.get("language") == "fr-FR"
    assert "anonyme et confidentiel" in (information.text or "")
    assert "17 ou le 112" in (information.text or "")
    gather = root.find("Gather")
    assert gather is not None
    assert gather.attrib == {
        "input": "dtmf",
        "numDigits": "1",
        "timeout": "5",
        "action": f"{PUBLIC}/voice/menu/language",
        "method": "POST",
        "actionOnEmptyResult": "true",
    }
    offer = gather.find("Say")
    assert offer is not None and offer.text == "For English, press 2."
    assert offer.get("language") == "en-GB"
    redirect = root.find("Redirect")
    assert redirect is not None and redirect.text == f"{PUBLIC}/voice/menu/language"
    assert fake_acd.enqueued == []


def test_a_silent_caller_reaches_the_queue(twilio, runtime: Runtime, fake_acd: FakeAcd) -> None:
    """Three silences later the caller is enqueued with the defaults."""
    twiml(twilio.post("/voice/incoming", call_form()))
    *_, last = answer_menus(twilio, 1, None, None, None)
    assert verbs(last) == ["Say", "Enqueue"]
    enqueue = last.find("Enqueue")
    assert enqueue is not None and enqueue.text == "helpline-3018"
    assert enqueue.attrib == {
        "waitUrl": f"{PUBLIC}/voice/queue/wait",
        "waitUrlMethod": "POST",
        "action": f"{PUBLIC}/voice/queue/result",
        "method": "POST",
    }
    (caller,) = fake_acd.enqueued
    assert (caller.call_sid, caller.platform, caller.caller_type, caller.language) == (
        sid(1),
        "phone",
        "unknown",
        "fr",
    )
    record = stored(runtime)
    assert record["step"] == "queued" and record["recording_consent"] == "no"


def test_choices_set_language_consent_skill_and_priority(
    twilio, runtime: Runtime, clock: FrozenClock, fake_acd: FakeAcd
) -> None:
    """English, recording accepted, a young person on a platform number: routed accordingly."""
    form = call_form(To="+33185083019", Called="+33185083019")  # dedicated to instagram
    twiml(twilio.post("/voice/incoming", form))
    english, consent, queued = answer_menus(twilio, 1, "2", "1", "1")
    assert "anonymous and confidential" in said(english)
    assert all(s.get("language") == "en-GB" for s in english.iter("Say"))
    assert "that is noted" in said(consent)
    assert queued.find("Enqueue") is not None
    (caller,) = fake_acd.enqueued
    assert caller.platform == "instagram" and caller.caller_type == "young"
    assert caller.language == "en" and caller.skill == "psychologist"
    assert caller.priority == runtime.config.acd.priority_for("instagram", "young") == 60
    assert caller.enqueued_at == clock.now()
    record = stored(runtime)
    assert record["recording_consent"] == "yes" and record["language"] == "en"
    assert record["caller_type"] == "young" and record["platform"] == "instagram"
    assert {"at_language", "at_consent", "at_caller_type", "at_queued"} <= set(record)


def test_professional_is_routed_to_a_lawyer(twilio, fake_acd: FakeAcd) -> None:
    """The skill comes from [acd.skill_for] for the caller type."""
    twiml(twilio.post("/voice/incoming", call_form()))
    answer_menus(twilio, 1, None, None, "3")
    assert fake_acd.enqueued[0].skill == "lawyer"


def test_an_invalid_key_is_retried_once_then_the_call_goes_on(twilio, fake_acd: FakeAcd) -> None:
    """ "Sorry, I did not understand" once, then the default and the queue."""
    twiml(twilio.post("/voice/incoming", call_form()))
    answer_menus(twilio, 1, None, None)
    first = twiml(twilio.post("/voice/menu/caller_type", {"CallSid": sid(), "Digits": "8"}))
    assert "pas compris" in said(first) and first.find("Gather") is not None
    second = twiml(twilio.post("/voice/menu/caller_type", {"CallSid": sid(), "Digits": "*"}))
    assert second.find("Enqueue") is not None and "continuons" in said(second)
    assert fake_acd.enqueued[0].caller_type == "unknown"


@pytest.mark.parametrize(
    ("reason", "words"),
    [("queue_full", "lignes sont occupées"), ("no_counsellor", "Aucun écoutant n'est disponible")],
)
def test_overflow_says_why_gives_the_alternatives_and_hangs_up(
    twilio, runtime: Runtime, fake_acd: FakeAcd, reason: str, words: str
) -> None:
    """Not queued by the ACD: the reason, chat/website/17/112/119, <Hangup/>."""
    fake_acd.result = EnqueueResult(queued=False, reason=reason)
    twiml(twilio.post("/voice/incoming", call_form()))
    *_, last = answer_menus(twilio, 1, None, None, None)
    assert verbs(last)[-1] == "Hangup" and last.find("Enqueue") is None
    text = said(last)
    assert words in text
    for alternative in ("chat", "3018.fr", "17 ou le 112", "119"):
        assert alternative in text
    assert stored(runtime)["step"] == "overflowed"


@pytest.mark.parametrize(
    ("local", "reopens"),
    [
        ("2026-11-23T07:30", "aujourd'hui à 9 heures"),
        ("2026-11-23T23:10", "demain à 9 heures"),
    ],
)
def test_closed_line_says_when_it_reopens_and_records_closed(
    twilio, runtime: Runtime, clock: FrozenClock, fake_acd: FakeAcd, local: str, reopens: str
) -> None:
    """Outside 09:00-23:00 Paris time: closed message, reopening, alternatives, hang up."""
    clock.set(datetime.fromisoformat(local).replace(tzinfo=PARIS))
    root = twiml(twilio.post("/voice/incoming", call_form()))
    assert verbs(root)[-1] == "Hangup" and root.find("Gather") is None
    text = said(root)
    assert "fermé" in text and reopens in text and "119" in text
    assert "closed at the moment" in text  # said in English too
    assert fake_acd.outcomes == [(sid(), Outcome.CLOSED)]
    assert fake_acd.enqueued == []
    assert stored(runtime)["step"] == "closed"


def test_a_closure_set_in_redis_applies_to_the_next_call(
    twilio, runtime: Runtime, clock: FrozenClock, fake_acd: FakeAcd
) -> None:
    """Exceptions are read on every call: no restart, no cache."""
    assert twiml(twilio.post("/voice/incoming", call_form(1))).find("Gather") is not None
    exception = hours_store.add_exception(
        runtime.redis,
        runtime.keys,
        Kind.CLOSED,
        clock.now(),
        datetime(2026, 11, 24, 0, 0, tzinfo=PARIS),
    )
    root = twiml(twilio.post("/voice/incoming", call_form(2)))
    assert "demain à 9 heures" in said(root) and verbs(root)[-1] == "Hangup"
    hours_store.remove_exception(runtime.redis, runtime.keys, exception.id)
    assert twiml(twilio.post("/voice/incoming", call_form(3))).find("Gather") is not None


def test_a_retried_incoming_request_neither_resets_nor_enqueues_twice(
    twilio, runtime: Runtime, fake_acd: FakeAcd
) -> None:
    """The same CallSid again: same record, back into the Twilio queue, one ACD enqueue."""
    twiml(twilio.post("/voice/incoming", call_form()))
    answer_menus(twilio, 1, "2", "1", "2")
    before = stored(runtime)
    again = twiml(twilio.post("/voice/incoming", call_form()))
    assert verbs(again) == ["Enqueue"]
    assert len(fake_acd.enqueued) == 1
    assert stored(runtime) == before


def test_a_retried_incoming_request_mid_menu_asks_the_same_menu(twilio, fake_acd: FakeAcd) -> None:
    """Half-way through the menus, a repeated first request re-asks where the call is."""
    twiml(twilio.post("/voice/incoming", call_form()))
    answer_menus(twilio, 1, None)
    again = twiml(twilio.post("/voice/incoming", call_form()))
    gather = again.find("Gather")
    assert gather is not None and gather.get("action") == f"{PUBLIC}/voice/menu/consent"
    assert "Bonjour" not in said(again)


@pytest.mark.parametrize(
    ("extra", "query", "platform", "channel"),
    [
        ({"platform": "Instagram", "From": "client:alice"}, "", "instagram", "app"),
        ({"SipHeader_X-Platform": "TikTok", "SipCallId": "abc@1.2.3.4"}, "", "tiktok", "sip"),
        ({"sipheader_x-platform": "messenger", "SipCallId": "x"}, "", "messenger", "sip"),
        ({}, "?platform=facebook", "facebook", "phone"),
        ({"platform": "tiktok"}, "?platform=facebook", "tiktok", "phone"),
        ({"platform": "<b>myspace</b>"}, "", "unknown", "phone"),
        ({}, "", "phone", "phone"),
    ],
)
def test_platform_tag_is_read_from_each_source(
    twilio,
    runtime: Runtime,
    fake_acd: FakeAcd,
    extra: dict,
    query: str,
    platform: str,
    channel: str,
) -> None:
    """App parameter (form), SIP header, dialled number, URL query; stored normalised."""
    twiml(twilio.post(f"/voice/incoming{query}", call_form(**extra)))
    record = stored(runtime)
    assert record["platform"] == platform and record["channel"] == channel


def test_an_in_app_caller_identity_is_pseudonymised(twilio, runtime: Runtime, fake_acd) -> None:
    """A Voice SDK identity is as private as a number: only its keyed hash is kept."""
    twiml(twilio.post("/voice/incoming", call_form(From="client:alice-1234")))
    record = stored(runtime)
    assert record["caller"].startswith("h:") and "alice" not in str(record)


def test_hostile_caller_text_never_reaches_the_twiml_unescaped(
    twilio, runtime: Runtime, fake_acd: FakeAcd
) -> None:
    """`&` and `<` in a tag or custom parameter are not echoed; the document stays valid."""
    hostile = "</Say><Redirect>https://evil.example/?a=1&b=2</Redirect><Say>"
    form = call_form(platform=hostile, reportRef=hostile, **{"SipHeader_X-Platform": hostile})
    response = twilio.post("/voice/incoming?platform=%3C%26", form)
    body = response.get_data(as_text=True)
    root = twiml(response)
    redirect = root.find("Redirect")
    assert "evil.example" not in body
    assert redirect is not None and (redirect.text or "").startswith(PUBLIC)
    assert stored(runtime)["platform"] == "unknown"


def test_prompt_and_audio_text_is_escaped_in_the_templates(
    twilio, runtime: Runtime, fake_acd: FakeAcd
) -> None:
    """Templates autoescape: a recording URL with `&` comes out as `&amp;` and parses back."""
    url = "https://cdn.example/welcome.mp3?sig=a&b=<c>"
    runtime.config = replace(
        runtime.config, prompts=replace(runtime.config.prompts, audio={"welcome": url})
    )
    response = twilio.post("/voice/incoming", call_form())
    body = response.get_data(as_text=True)
    assert "sig=a&amp;b=&lt;c&gt;" in body and "&b=<c>" not in body
    root = twiml(response)
    assert verbs(root)[0] == "Play" and root[0].text == url


@pytest.mark.parametrize(
    "path",
    [
        "/voice/incoming",
        "/voice/menu/language",
        "/voice/rejoin",
        "/voice/fallback",
        "/voice/status",
    ],
)
def test_unsigned_or_forged_requests_are_refused(client, runtime, fake_acd, path: str) -> None:
    """No signature, a wrong one, or one for other parameters: 403, nothing done."""
    form = {k: str(v) for k, v in call_form().items()}
    assert client.post(path, data=form).status_code == 403
    forged = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    assert client.post(path, data=form, headers=forged).status_code == 403
    other = sign(AUTH_TOKEN, PUBLIC + path, {**form, "platform": "tiktok"})
    assert client.post(path, data=form, headers={"X-Twilio-Signature": other}).status_code == 403
    assert fake_acd.enqueued == [] and fake_acd.outcomes == []
    assert runtime.redis.dbsize() == 0


def test_a_signature_for_another_url_is_refused(client) -> None:
    """A request signed for one path cannot be replayed on another."""
    form = {k: str(v) for k, v in call_form().items()}
    signature = sign(AUTH_TOKEN, PUBLIC + "/voice/status", form)
    headers = {"X-Twilio-Signature": signature}
    assert client.post("/voice/incoming", data=form, headers=headers).status_code == 403
