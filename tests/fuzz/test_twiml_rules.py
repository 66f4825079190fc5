"""The fuzzers' TwiML validator refuses what Twilio cannot play (so its silence means something)."""

from __future__ import annotations

import pytest

from tests.security.twiml_rules import problems

P = "https://helpline.test"


def test_a_well_formed_document_passes() -> None:
    """Gather with speech inside, Enqueue with our URLs, a conference: no problem."""
    doc = (
        f'<Response><Gather input="dtmf" numDigits="1" timeout="5" action="{P}/voice/menu/x" '
        'method="POST"><Say>Bonjour</Say><Pause length="1"/></Gather>'
        f'<Enqueue waitUrl="{P}/voice/queue/wait" action="{P}/voice/queue/result">3018</Enqueue>'
        "</Response>"
    )
    assert problems(doc, P) == []


@pytest.mark.parametrize(
    ("doc", "wanted"),
    [
        ("<Response><Say>x</Say", "not XML"),
        ("<Reply/>", "root is <Reply>"),
        ("<Response><Gather><Dial>1</Dial></Gather></Response>", "<Dial> is not allowed in"),
        ("<Response><Enqueue>q</Enqueue><Say>x</Say><Hangup/><Say>y</Say></Response>", "after"),
        ("<Response><Say><Play>u</Play></Say></Response>", "<Play> is not allowed in <Say>"),
        ("<Response><Redirect>https://evil.test/x</Redirect></Response>", "does not point"),
        ('<Response><Gather action="/relative"/></Response>', "does not point"),
        ('<Response><Pause length="five"/></Response>', "not a whole number"),
        ("<Response><Hangup>now</Hangup></Response>", "must be empty"),
        ("<Response><Enqueue/></Response>", "needs a text"),
        ('<Response><Gather input="keys"/></Response>', "dtmf and/or speech"),
        ('<Response><Redirect method="PUT">https://helpline.test/x</Redirect></Response>', "GET"),
        ("<Response><Number>+33</Number></Response>", "<Number> is not allowed in <Response>"),
    ],
)
def test_what_twilio_cannot_play_is_reported(doc: str, wanted: str) -> None:
    """Each broken rule is named."""
    assert any(wanted in p for p in problems(doc, P)), problems(doc, P)
