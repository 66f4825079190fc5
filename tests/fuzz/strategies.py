"""Hypothesis strategies for hostile webhook input: Twilio's field names with values that are
missing, empty, huge, unicode, control characters, number-like, or ids of live state."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode

from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from tests.conftest import AUTH_TOKEN, PUBLIC
from tests.fuzz.conftest import Known

FIELDS = [
    "CallSid", "AccountSid", "From", "To", "Called", "Caller", "Direction", "CallStatus",
    "Digits", "SequenceNumber", "CallDuration", "QueueResult", "QueueSid", "QueueTime",
    "platform", "ref", "SipHeader_X-Platform", "SipCallId", "ErrorCode", "ErrorUrl",
    "ParentCallSid", "DequeueResult", "DequeingCallSid", "ConferenceSid", "AnsweredBy",
    "StatusCallbackEvent", "SpeechResult", "Timestamp", "ApiVersion", "CallerName",
    "callback", "Number", "FinishedOnKey",
]  # fmt: skip
STATUSES = [
    "queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed",
    "no-answer", "canceled", "COMPLETED", " completed ", "answered",
]  # fmt: skip
QUEUE_RESULTS = [
    "bridged", "bridging-in-process", "error", "hangup", "leave", "redirected",
    "redirected-from-bridged", "queue-full", "system-error", "BRIDGED",
]  # fmt: skip
DIGITS = ["1", "2", "3", "4", "9", "0", "*", "#", "11", "1#", "\u0661", "\u00b2", " 1", "w", "-1"]
NUMBER_LIKE = [
    "0", "-1", "+1", "1e309", "nan", "inf", "0x1F", " 12 ", "1_000",
    "\u00b2", "\u00b9\u00b2", "\u0663",  # superscripts and Arabic-Indic digits: isdigit()
    "99999999999999999999999999", "+33612345678", "0612345678", "33 6 12 34 56 78",
]  # fmt: skip
PLATFORMS = [
    "instagram", "INSTAGRAM", " tiktok ", "messenger", "phone", "unknown", "../x", "{3018}",
    "insta\x00gram", "i\u0307nstagram", "x" * 65, "facebook,tiktok", "<script>",
]  # fmt: skip
CONTROL = st.text(st.characters(max_codepoint=0x1F), min_size=1, max_size=8)
HUGE = st.builds(
    lambda c, n: c * n, st.sampled_from(["9", "é", "\x00", "💥"]), st.integers(1_000, 50_000)
)


def values(known: Known) -> st.SearchStrategy[str]:
    """One field value: ids of live state, Twilio's words, or garbage."""
    ids = [known.call_sid, known.queued_sid, known.counsellor_call_sid, known.rid]
    ids += ["CA" + "0" * 32, "CA" + "f" * 32, "QU" + "a" * 32, "client:amina", "sip:x@y"]
    return st.one_of(
        st.sampled_from(ids),
        st.sampled_from(STATUSES + QUEUE_RESULTS + DIGITS + NUMBER_LIKE + PLATFORMS),
        st.just(""),
        st.text(max_size=40),
        CONTROL,
        st.integers(-(10**20), 10**20).map(str),
        HUGE,
    )


def form_pairs(known: Known) -> st.SearchStrategy[list[tuple[str, str]]]:
    """A form as (name, value) pairs: duplicated names, made-up names, any values."""
    names = st.one_of(st.sampled_from(FIELDS), st.text(min_size=1, max_size=20))
    return st.lists(st.tuples(names, values(known)), max_size=12)


def path_value(known: Known) -> st.SearchStrategy[str]:
    """A path argument (no ``/``, ``.`` or ``..``: those would address another route)."""
    garbage = st.text(min_size=1, max_size=30).filter(lambda v: "/" not in v and v.strip(".") != "")
    return st.one_of(
        st.just(known.rid),
        st.sampled_from(["0", "2", "-1", "1.5", "%", "a b", "é", "1;DROP", "9" * 40, "{3018}"]),
        garbage,
    )


def signed(
    path: str, pairs: list[tuple[str, str]], query: list[tuple[str, str]] | None = None
) -> tuple[str, bytes, dict[str, str]]:
    """(url, body, headers) of a POST signed the way Twilio signs it: every value counts."""
    url = path + (f"?{urlencode(query)}" if query else "")
    body = urlencode(pairs, quote_via=quote)
    parsed = MultiDict(parse_qsl(body, keep_blank_values=True))  # what the server will read
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + url, parsed)
    headers = {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return url, body.encode(), headers
