"""Pseudonymisation: a keyed hash of a caller's number, never the number itself.

The one exception is virtual hold (`acd.callback`): a caller who asks to be called back has
their number kept, sealed with AES-GCM under a key derived from ``SECRET_KEY``, only until the
callback ends (docs/incall.md §5)."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata


def pseudonymise(secret_key: str, number: str | None) -> str:
    """HMAC-SHA256 of the normalised number with the secret key; ``anonymous`` when absent."""
    if not number:
        return "anonymous"
    normalised = unicodedata.normalize("NFKC", number).strip().replace(" ", "")
    digest = hmac.new(secret_key.encode(), normalised.encode(), hashlib.sha256).hexdigest()
    return f"h:{digest[:32]}"
