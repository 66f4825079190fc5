"""The platform tag: sources in order, normalisation, and never a rejected call."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.platform import PHONE, UNKNOWN, dialled_platform, resolve_platform, token

KNOWN = ("phone", "instagram", "messenger", "facebook", "tiktok", "x")
FULLWIDTH_INSTAGRAM = "".join(chr(ord(c) + 0xFEE0) for c in "instagram")
NUMBERS = {"+33185083019": "instagram", "+33185083020": "tiktok"}


@pytest.mark.parametrize(
    ("raw", "tag"),
    [
        ("instagram", "instagram"),
        ("Instagram", "instagram"),
        ("  INSTAGRAM  ", "instagram"),
        ("Tik Tok", "tiktok"),
        ("tik-tok", "tiktok"),
        (FULLWIDTH_INSTAGRAM, "instagram"),  # NFKC
        ("insta\u200bgram", "instagram"),  # zero-width space
        ("X", "x"),
        ("snapchat", UNKNOWN),  # not configured
        ("<script>alert(1)</script>", UNKNOWN),
        ("instagram&<>\"'", UNKNOWN),  # not a tag: nothing is stripped into one
        ("face_book.", "facebook"),
        ("&<>", UNKNOWN),  # present but nothing usable: still an unknown tag, not "phone"
        ("instagram" * 1000, UNKNOWN),
        ("\x00\x01", UNKNOWN),
        ("😀", UNKNOWN),
    ],
)
def test_app_tag_is_normalised_against_the_known_platforms(raw: str, tag: str) -> None:
    """Case, spaces, separators and Unicode forms do not matter; anything else is unknown."""
    assert resolve_platform(KNOWN, custom=raw) == tag


def test_no_tag_anywhere_means_phone() -> None:
    """A call from the telephone network with no tag is a phone call."""
    assert resolve_platform(KNOWN) == PHONE
    assert resolve_platform(KNOWN, custom="", sip="   ", query=None) == PHONE


def test_first_source_carrying_a_value_wins() -> None:
    """App parameter, then SIP header, then dialled number, then the URL's query parameter."""
    every = {"custom": "tiktok", "sip": "facebook", "dialled": "x", "query": "x"}
    assert resolve_platform(KNOWN, **every) == "tiktok"
    assert resolve_platform(KNOWN, sip="facebook", dialled="instagram", query="x") == "facebook"
    assert resolve_platform(KNOWN, dialled="instagram", query="x") == "instagram"
    assert resolve_platform(KNOWN, query="messenger") == "messenger"
    # An unknown value in a higher source decides (unknown), it is not skipped.
    assert resolve_platform(KNOWN, custom="myspace", query="messenger") == UNKNOWN


def test_dialled_number_finds_its_platform_in_to_then_called() -> None:
    """A number dedicated to a platform tags its calls, whatever the spacing."""
    assert dialled_platform(NUMBERS, "+33 1 85 08 30 19", None) == "instagram"
    assert dialled_platform(NUMBERS, "client:abc", "+33185083020") == "tiktok"
    assert dialled_platform(NUMBERS, "+33185083018", "+33185083018") is None
    assert dialled_platform(NUMBERS, None, "") is None


@given(st.text(max_size=400))
def test_any_text_gives_a_known_tag_or_unknown(raw: str) -> None:
    """Whatever a caller sends, the stored tag is one of ours."""
    assert resolve_platform(KNOWN, custom=raw) in (*KNOWN, UNKNOWN)
    normalised = token(raw)
    if normalised:
        assert len(normalised) <= 32 and normalised.isascii() and normalised.isalnum()
