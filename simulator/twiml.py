"""TwiML documents as plain data: parsing, validation and how long each sound lasts.

Pure functions, no I/O. Validation follows Twilio's rules closely enough that a document the
simulator accepts is one Twilio accepts: the root is ``<Response>``, verbs are known, and
nesting is legal (``<Gather>`` holds only Say/Play/Pause, ``<Dial>`` only nouns). Twilio
reports a malformed document as error 12100 and a schema violation as 12200; both end the
call with "an application error has occurred" unless a fallback URL answers.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

# Twilio's error codes the simulator reports (ErrorCode on the fallback request).
HTTP_RETRIEVAL_FAILURE = 11200  # the URL answered with an HTTP error status
HTTP_CONNECTION_FAILURE = 11205  # no answer: refused, reset or slower than the timeout
DOCUMENT_PARSE_FAILURE = 12100  # not well-formed XML, or not a <Response>
SCHEMA_VALIDATION = 12200  # unknown verb or illegal nesting
INVALID_CONTENT_TYPE = 12300

VERBS = frozenset(
    {
        "Say", "Play", "Pause", "Gather", "Redirect", "Hangup", "Reject", "Enqueue", "Leave",
        "Dial", "Record", "Sms", "Message", "Connect", "Refer", "Pay", "Prompt", "Start",
        "Stop", "Echo",
    }
)  # fmt: skip
# Known to Twilio, not simulated: the interpreter skips them and notes it in the call's log.
UNSIMULATED = frozenset(
    {"Record", "Sms", "Message", "Connect", "Refer", "Pay", "Prompt", "Start", "Stop", "Echo"}
)
GATHER_CHILDREN = frozenset({"Say", "Play", "Pause"})
DIAL_NOUNS = frozenset({"Number", "Client", "Conference", "Sip", "Queue", "Application"})
# Verbs Twilio runs in a document fetched from an <Enqueue waitUrl>.
WAIT_URL_VERBS = frozenset({"Say", "Play", "Pause", "Redirect", "Leave", "Hangup", "Gather"})
# Verbs Twilio runs in a document fetched from a <Conference waitUrl>.
CONFERENCE_WAIT_VERBS = frozenset({"Say", "Play", "Pause", "Redirect"})


class TwimlError(Exception):
    """A document Twilio would refuse, with Twilio's error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Verb:
    """One element: its tag, attributes, text and nested elements."""

    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: tuple[Verb, ...] = ()

    def attr(self, name: str, default: str = "") -> str:
        """An attribute's value, stripped, or ``default`` when absent."""
        value = self.attrs.get(name)
        return default if value is None else value.strip()

    def flag(self, name: str, default: bool) -> bool:
        """A true/false attribute."""
        value = self.attrs.get(name)
        if value is None or not value.strip():
            return default
        return value.strip().lower() == "true"

    def number(self, name: str, default: float) -> float:
        """A numeric attribute; a malformed one falls back to ``default`` as Twilio does."""
        try:
            return float(self.attrs[name])
        except (KeyError, ValueError):
            return default


def _element(el: ET.Element) -> Verb:
    text = "".join(el.itertext()) if el.tag == "Say" else (el.text or "")
    children = () if el.tag == "Say" else tuple(_element(c) for c in el)
    return Verb(el.tag, dict(el.attrib), " ".join(text.split()), children)


def parse(body: str | bytes) -> list[Verb]:
    """The verbs of a TwiML document, validated; raises `TwimlError`."""
    try:
        root = ET.fromstring(body)  # noqa: S314 - local documents from the app under test
    except ET.ParseError as exc:
        raise TwimlError(DOCUMENT_PARSE_FAILURE, f"document parse failure: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(DOCUMENT_PARSE_FAILURE, f"root element is <{root.tag}>, not <Response>")
    verbs = [_element(child) for child in root]
    for verb in verbs:
        _validate(verb)
    return verbs


def _validate(verb: Verb) -> None:
    if verb.name not in VERBS:
        raise TwimlError(SCHEMA_VALIDATION, f"unknown verb <{verb.name}>")
    if verb.name == "Gather":
        for child in verb.children:
            if child.name not in GATHER_CHILDREN:
                raise TwimlError(SCHEMA_VALIDATION, f"<{child.name}> cannot be nested in <Gather>")
    elif verb.name == "Dial":
        for child in verb.children:
            if child.name not in DIAL_NOUNS:
                raise TwimlError(SCHEMA_VALIDATION, f"<{child.name}> is not a noun of <Dial>")
        if not verb.children and not verb.text.strip():
            raise TwimlError(SCHEMA_VALIDATION, "<Dial> has nothing to dial")
    elif verb.name == "Enqueue":
        if not verb.text.strip() and "workflowSid" not in verb.attrs:
            raise TwimlError(SCHEMA_VALIDATION, "<Enqueue> needs a queue name")
    elif verb.name in {"Play", "Pause", "Hangup", "Reject", "Leave", "Redirect"} and verb.children:
        nested = verb.children[0].name
        raise TwimlError(SCHEMA_VALIDATION, f"<{nested}> cannot be nested in <{verb.name}>")


def loops(verb: Verb) -> int:
    """How many times a Say or Play repeats; 0 (Twilio's "until the call ends") is a large cap."""
    count = int(verb.number("loop", 1))
    return 10_000 if count <= 0 else count


def say_seconds(text: str, chars_per_second: float) -> float:
    """How long text-to-speech takes to say ``text`` once."""
    return max(len(text.strip()), 1) / chars_per_second


def play_seconds(url: str, durations: dict[str, float], default: float) -> float:
    """How long one play of ``url`` lasts: the first configured fragment it contains wins."""
    for fragment, seconds in durations.items():
        if fragment in url:
            return seconds
    return default
