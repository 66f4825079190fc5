"""A small TwiML validator: Twilio's verbs and nouns, where each may appear, a few attributes.

Twilio plays "an application error has occurred" and hangs up on a document it cannot use, so
the fuzz tests hold every voice answer to these rules. Based on Twilio's TwiML reference for
voice: the verbs allowed in <Response>, what <Gather>, <Dial>, <Enqueue>… may contain, and that
nothing after <Hangup>, <Redirect>, <Reject> or <Leave> is ever reached.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

VERBS = frozenset(
    {
        "Say", "Play", "Pause", "Gather", "Dial", "Enqueue", "Leave", "Hangup", "Redirect",
        "Reject", "Record", "Connect", "Refer", "Pay", "Start", "Stop", "Sms", "Message",
    }
)  # fmt: skip
#: What each element may contain (elements not listed contain text only, or nothing).
CHILDREN = {
    "Response": VERBS,
    "Gather": frozenset({"Say", "Play", "Pause"}),
    "Dial": frozenset({"Number", "Client", "Conference", "Queue", "Sip", "Sim", "Application"}),
    "Client": frozenset({"Identity", "Parameter"}),
    "Enqueue": frozenset({"Task"}),
    "Say": frozenset(
        {"break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub", "w"}
    ),
}
EMPTY = frozenset({"Leave", "Hangup", "Pause", "Reject", "Parameter"})  # no text, no children
TERMINAL = frozenset({"Hangup", "Redirect", "Reject", "Leave"})  # nothing after is reached
URL_ATTRIBUTES = frozenset(
    {
        "action",
        "waitUrl",
        "statusCallback",
        "url",
        "recordingStatusCallback",
        "partialResultCallback",
    }
)
METHODS = frozenset({"GET", "POST"})
WHOLE = re.compile(r"^[0-9]{1,4}$")


def problems(body: bytes | str, public: str) -> list[str]:
    """What is wrong with a TwiML document (empty: nothing). URLs must point at ``public``."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - our own output, under test
    except ET.ParseError as exc:
        return [f"not XML: {exc}"]
    if root.tag != "Response":
        return [f"root is <{root.tag}>, not <Response>"]
    found: list[str] = []
    _check(root, public, found)
    return found


def _check(el: ET.Element, public: str, found: list[str]) -> None:
    allowed = CHILDREN.get(el.tag, frozenset())
    children = list(el)
    for i, child in enumerate(children):
        if child.tag not in allowed:
            found.append(f"<{child.tag}> is not allowed in <{el.tag}>")
        if el.tag == "Response" and child.tag in TERMINAL and i < len(children) - 1:
            found.append(f"<{children[i + 1].tag}> after <{child.tag}> is never reached")
        _check(child, public, found)
    if el.tag in EMPTY and ((el.text or "").strip() or children):
        found.append(f"<{el.tag}> must be empty")
    needs_text = el.tag in ("Redirect", "Play", "Enqueue", "Conference", "Number", "Queue")
    if needs_text and not (el.text or "").strip():
        found.append(f"<{el.tag}> needs a text")
    if el.tag == "Redirect":
        _url((el.text or "").strip(), public, "<Redirect>", found)
    for name, value in el.attrib.items():
        if name in URL_ATTRIBUTES:
            _url(value, public, f"<{el.tag} {name}>", found)
        elif name in ("method", "waitUrlMethod") and value not in METHODS:
            found.append(f"<{el.tag} {name}={value!r}> is not GET or POST")
        elif name in ("timeout", "numDigits", "length") and not WHOLE.match(value):
            found.append(f"<{el.tag} {name}={value!r}> is not a whole number")
    if el.tag == "Gather" and el.get("input", "dtmf") not in ("dtmf", "speech", "dtmf speech"):
        found.append(f"<Gather input={el.get('input')!r}> is not dtmf and/or speech")


def _url(value: str, public: str, where: str, found: list[str]) -> None:
    if not value.startswith(public + "/"):
        found.append(f"{where} {value[:80]!r} does not point at {public}")
