"""The platform tag: where a call came from (phone, instagram, tiktok, …). Pure.

Sources, in order; the first one that carries a value decides:

1. the Voice SDK custom parameter ``platform`` (in-app calls; a form field),
2. the SIP header ``X-Platform`` (form field ``SipHeader_X-Platform``),
3. the dialled number, when ``[platforms.numbers]`` dedicates it to a platform (``To``, then
   ``Called``),
4. a ``platform`` query parameter on the webhook URL (e.g. a TwiML App per platform).

A value is normalised (Unicode NFKC, case folded, spaces, ``-``, ``_``, ``.`` and invisible
characters dropped; what remains must be 1-32 of ``a-z0-9``) and compared with the configured
known tags normalised the same way. A value that matches none of them gives ``unknown``; no
value anywhere gives ``phone``. A tag never rejects a call, and the only tags ever stored are
known ones, ``unknown`` or ``phone``: nothing a caller sends is echoed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

PHONE = "phone"
UNKNOWN = "unknown"
MAX_INPUT = 256  # characters looked at; anything longer is cut before normalising
MAX_TOKEN = 32
_TOKEN = re.compile(rf"[a-z0-9]{{1,{MAX_TOKEN}}}")
_SEPARATORS = frozenset("-_.")
_NOT_NUMBER = re.compile(r"[^0-9+]")


def token(raw: str | None) -> str | None:
    """The comparable form of a tag: ``" Insta gram "`` → ``instagram``; None when absent.

    Absent means missing or blank. Spaces, ``-``, ``_``, ``.`` and invisible format characters
    are dropped; what remains must be 1-32 letters and digits, otherwise the value is present
    but not a tag and gives ``""`` (which matches no platform: ``unknown``).
    """
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", raw[:MAX_INPUT]).strip()
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text.casefold())
    text = "".join(
        ch
        for ch in text
        if not (ch.isspace() or ch in _SEPARATORS or unicodedata.category(ch) == "Cf")
    )
    return text if _TOKEN.fullmatch(text) else ""


def number_key(raw: str | None) -> str:
    """A dialled number reduced to digits and ``+`` for matching (``"+33 1 85…"``)."""
    if not raw:
        return ""
    return _NOT_NUMBER.sub("", unicodedata.normalize("NFKC", raw[:MAX_INPUT]))


def canonical(raw: str | None, known: Iterable[str]) -> str | None:
    """The known tag ``raw`` names, ``unknown`` when it names none, None when absent."""
    wanted = token(raw)
    if wanted is None:
        return None
    for tag in known:
        if wanted and token(tag) == wanted:
            return tag
    return UNKNOWN


def dialled_platform(numbers: Mapping[str, str], *dialled: str | None) -> str | None:
    """The platform a dialled number (``To``, then ``Called``) is dedicated to, if any."""
    table = {number_key(n): tag for n, tag in numbers.items() if number_key(n)}
    for raw in dialled:
        key = number_key(raw)
        if key and key in table:
            return table[key]
    return None


def resolve_platform(
    known: Iterable[str],
    *,
    custom: str | None = None,
    sip: str | None = None,
    dialled: str | None = None,
    query: str | None = None,
) -> str:
    """The call's platform tag from its sources, first present wins (see the module doc)."""
    known = tuple(known)
    for raw in (custom, sip, dialled, query):
        tag = canonical(raw, known)
        if tag is not None:
            return tag
    return PHONE
