"""TwiML parsing and timing rules, pure."""

from __future__ import annotations

import itertools
import random

import pytest

from simulator import twiml
from simulator.behaviour import caller_address, handle_time, parse_mix, plan_arrivals
from simulator.twiml import TwimlError


def test_a_document_parses_into_verbs_with_nested_prompts() -> None:
    """Verbs, attributes, text (SSML flattened) and Gather's nested verbs."""
    verbs = twiml.parse(
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Say language="fr-FR">Bonjour <break time="1s"/>et bienvenue</Say>'
        '<Gather numDigits="1"><Say>Tapez 1</Say><Pause length="2"/></Gather>'
        "</Response>"
    )
    assert [v.name for v in verbs] == ["Say", "Gather"]
    assert verbs[0].text == "Bonjour et bienvenue" and verbs[0].attr("language") == "fr-FR"
    assert [c.name for c in verbs[1].children] == ["Say", "Pause"]
    assert verbs[1].number("numDigits", 0) == 1


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("<Response><Say>unclosed</Response>", twiml.DOCUMENT_PARSE_FAILURE),
        ("<Reponse/>", twiml.DOCUMENT_PARSE_FAILURE),
        ("", twiml.DOCUMENT_PARSE_FAILURE),
        ("<Response><Dance/></Response>", twiml.SCHEMA_VALIDATION),
        ("<Response><Gather><Dial>1</Dial></Gather></Response>", twiml.SCHEMA_VALIDATION),
        ("<Response><Dial><Say>x</Say></Dial></Response>", twiml.SCHEMA_VALIDATION),
        ("<Response><Enqueue/></Response>", twiml.SCHEMA_VALIDATION),
    ],
)
def test_invalid_documents_carry_twilios_error_codes(document: str, code: int) -> None:
    """Malformed XML is 12100, a schema violation 12200."""
    with pytest.raises(TwimlError) as info:
        twiml.parse(document)
    assert info.value.code == code


def test_speech_lasts_by_text_length_and_loops() -> None:
    """About 15 characters per second; loop=0 means until the call ends."""
    assert twiml.say_seconds("x" * 30, 15) == 2
    (say,) = twiml.parse('<Response><Say loop="3">a</Say></Response>')
    (forever,) = twiml.parse('<Response><Play loop="0">a.mp3</Play></Response>')
    assert twiml.loops(say) == 3 and twiml.loops(forever) >= 1000
    assert twiml.play_seconds("https://x/hold.mp3", {"hold": 42}, 30) == 42
    assert twiml.play_seconds("https://x/other.mp3", {"hold": 42}, 30) == 30


def test_platform_mix_is_parsed_and_normalised() -> None:
    """`a=1,b=3` → weights summing to one; malformed mixes are refused."""
    assert parse_mix("instagram=1, phone=3") == {"instagram": 0.25, "phone": 0.75}
    for bad in ("phone", "phone=-1", "phone=0", "=2"):
        with pytest.raises(ValueError):
            parse_mix(bad)


def test_arrivals_are_poisson_and_reproducible() -> None:
    """Same seed, same plan; the count is near rate x duration."""
    mix, kinds = {"phone": 0.5, "tiktok": 0.5}, {"young": 1.0}
    a = plan_arrivals(random.Random(1), 60, 3600, mix, kinds, 100)
    b = plan_arrivals(random.Random(1), 60, 3600, mix, kinds, 100)
    assert a == b
    assert 3000 < len(a) < 4200
    assert all(x.at < y.at for x, y in itertools.pairwise(a))
    assert {x.platform for x in a} == {"phone", "tiktok"}


def test_handle_times_have_the_configured_mean() -> None:
    """Lognormal and exponential draws average close to the mean; sigma 0 is fixed."""
    rng = random.Random(3)
    for dist in ("lognormal", "exponential"):
        draws = [handle_time(rng, 600, dist, 0.5) for _ in range(20000)]
        assert 570 < sum(draws) / len(draws) < 630
    assert handle_time(rng, 600, "lognormal", 0.0) == pytest.approx(600)


def test_callers_are_addressed_by_channel() -> None:
    """Phone: E.164; in-app: client identity + platform; SIP: header; dedicated number."""
    rng = random.Random(0)
    f, t, extra = caller_address(rng, "phone", "pstn", "+33800003018")
    assert f.startswith("+33") and len(f) == 12 and t == "+33800003018" and extra == {}
    f, _, extra = caller_address(rng, "messenger", "client", "+33800003018")
    assert f.startswith("client:messenger-") and extra == {"platform": "messenger"}
    f, t, extra = caller_address(rng, "tiktok", "sip", "+33800003018")
    assert f.startswith("sip:") and extra == {"SipHeader_X-Platform": "tiktok"}
    _, t, extra = caller_address(rng, "tiktok", "number:+33900000001", "+33800003018")
    assert t == "+33900000001" and extra == {}
