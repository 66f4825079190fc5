"""The Voice identity that binds a call to its platform, and the report reference. Pure, but
for `count_mismatch`.

A voice token is minted for the identity ``p.<platform>.<random>``. Twilio signs the token with
the helpline's API key and reports the identity of the calling device in ``From`` as
``client:p.<platform>.<random>``: nothing the app sends can change it, so the voice flow takes
the tag from there first (`platform_from_identity`). A ``platform`` custom parameter that names
another platform is ignored and counted (`is_mismatch`, `count_mismatch`).

The report reference (custom parameter ``ref``) is opaque to the helpline: at most 128
characters of ``A-Z a-z 0-9 . _ : -``; anything else is dropped whole, never cut or repaired
(`clean_report_ref`). It is never logged.
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING

from ivr.platform import UNKNOWN, canonical

if TYPE_CHECKING:
    from helpline.runtime import Runtime

IDENTITY_PREFIX = "p"
MAX_REF = 128
_REF = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_REF}}}")
_TAG = re.compile(r"[a-z0-9]{1,32}")
_IDENTITY = re.compile(r"p\.([a-z0-9]{1,32})\.([a-z0-9]{16,40})")


def mint_identity(platform: str) -> str:
    """A fresh identity ``p.<platform>.<20 random hex digits>`` for a voice token."""
    if not _TAG.fullmatch(platform):
        raise ValueError("a platform tag is 1-32 lower-case letters and digits")
    return f"{IDENTITY_PREFIX}.{platform}.{secrets.token_hex(10)}"


def platform_from_identity(from_value: str, known: tuple[str, ...]) -> str | None:
    """The platform bound to a ``client:p.<platform>.<random>`` caller, else None.

    None means "not one of our partner identities" (a phone number, a counsellor's softphone,
    a malformed value): the voice flow then resolves the tag as before. An identity naming a
    platform that is no longer configured gives ``unknown`` (the token was ours, the tag is
    stale); so does one minted for ``unknown`` by the call page.
    """
    if not isinstance(from_value, str) or not from_value.startswith("client:"):
        return None
    match = _IDENTITY.fullmatch(from_value[len("client:") :])
    if match is None:
        return None
    tag = match.group(1)
    if tag in known and tag != "phone":
        return tag
    return UNKNOWN


def is_mismatch(bound: str, claimed: str | None, known: tuple[str, ...]) -> bool:
    """True when a claimed tag (custom parameter ``platform``) names another platform.

    No claim, or a claim naming the bound platform (in any spelling ``ivr.platform`` accepts),
    is not a mismatch.
    """
    tag = canonical(claimed, known)
    return tag is not None and tag != bound


def count_mismatch(runtime: Runtime, platform: str) -> int:
    """Count one call whose claimed tag contradicted its token (per bound platform)."""
    return int(runtime.redis.hincrby(runtime.keys.partner_tag_mismatches, platform, 1))


def clean_report_ref(value: object) -> str | None:
    """The report reference if it is 1-128 characters of ``A-Za-z0-9._:-``, else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if _REF.fullmatch(text) else None
