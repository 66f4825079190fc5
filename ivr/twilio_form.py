"""Twilio's webhook form as a typed object, tolerant of anything a request may carry.

Missing fields become empty values, garbage numbers become None, long values are cut, a
CallSid that is not ``CA`` + 32 hex digits is treated as absent (it names Redis keys). The
caller's raw identifiers (``From``, ``To``, ``Called``) are kept only for the moment it takes to
pseudonymise them or to look a dialled number up; they are left out of the object's repr so
that logging the object cannot leak them.

In-app calls (Voice SDK) send their custom parameters as form fields, so the form field
``platform`` is the app's tag, while a ``platform`` query parameter on the webhook URL is a
different source: the two are read from ``request.form`` and ``request.args`` separately.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ivr.callrecord import Channel

CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
DIGITS = re.compile(r"^[0-9*#]{1,16}$")
MAX_VALUE = 256
SIP_PLATFORM_HEADER = "sipheader_x-platform"
INVALID_DIGITS = "?"  # stands for keys that are not keys (never a valid menu choice)


@dataclass(frozen=True)
class VoiceRequest:
    """The fields of a Twilio voice webhook the flow uses."""

    call_sid: str | None
    caller: str = field(default="", repr=False)  # From: only ever pseudonymised
    to: str = field(default="", repr=False)
    called: str = field(default="", repr=False)
    direction: str = ""
    digits: str | None = None  # None: nothing pressed
    app_platform: str | None = None  # Voice SDK custom parameter ``platform`` (form)
    app_ref: str | None = field(default=None, repr=False)  # custom parameter ``ref`` (opaque)
    sip_platform: str | None = None  # SIP header X-Platform (form SipHeader_X-Platform)
    url_platform: str | None = None  # ``platform`` query parameter of the webhook URL
    sip: bool = False
    call_status: str = ""
    sequence_number: int | None = None
    call_duration: int | None = None
    error_code: str = ""

    @classmethod
    def parse(cls, form: Mapping[str, str], args: Mapping[str, str]) -> VoiceRequest:
        """Read a request's form and query string; never raises on content."""
        sid = _text(form, "CallSid")
        return cls(
            call_sid=sid if CALL_SID.match(sid) else None,
            caller=_text(form, "From"),
            to=_text(form, "To"),
            called=_text(form, "Called"),
            direction=_text(form, "Direction").lower(),
            digits=_digits(_text(form, "Digits")),
            app_platform=_optional(form, "platform"),
            app_ref=_optional(form, "ref"),
            sip_platform=_sip_header(form),
            url_platform=_optional(args, "platform"),
            sip=bool(_text(form, "SipCallId")) or _text(form, "From").startswith("sip:"),
            call_status=_text(form, "CallStatus").lower(),
            sequence_number=_number(_text(form, "SequenceNumber")),
            call_duration=_number(_text(form, "CallDuration")),
            error_code=_text(form, "ErrorCode")[:16],
        )

    @property
    def channel(self) -> Channel:
        """Phone network, in-app (Voice SDK ``client:`` identity) or SIP."""
        if self.caller.startswith("client:"):
            return Channel.APP
        if self.sip:
            return Channel.SIP
        return Channel.PHONE

    @property
    def caller_leg(self) -> bool:
        """True for a call that reached the line (Twilio says ``inbound``)."""
        return self.direction == "inbound"


def _text(source: Mapping[str, str], name: str) -> str:
    try:
        value = source.get(name)
    except Exception:  # noqa: BLE001 - an odd mapping is an absent value
        return ""
    return value[:MAX_VALUE] if isinstance(value, str) else ""


def _optional(source: Mapping[str, str], name: str) -> str | None:
    value = _text(source, name)
    return value if value.strip() else None


def _sip_header(form: Mapping[str, str]) -> str | None:
    """``SipHeader_X-Platform`` whatever the case the SIP peer used."""
    for name in form:
        if isinstance(name, str) and name.lower() == SIP_PLATFORM_HEADER:
            return _optional(form, name)
    return None


def _digits(raw: str) -> str | None:
    """The keys pressed; None for nothing; a marker for anything that is not keys."""
    raw = raw.strip()
    if not raw:
        return None
    return raw if DIGITS.match(raw) else INVALID_DIGITS


def _number(raw: str) -> int | None:
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        return None
    return int(raw)
