"""The identity that binds a call to its platform, spoofed tags, and the report reference."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpline.runtime import Runtime
from partners.identity import (
    MAX_REF,
    clean_report_ref,
    count_mismatch,
    is_mismatch,
    mint_identity,
    platform_from_identity,
)

KNOWN = ("phone", "instagram", "messenger", "facebook", "tiktok")
RANDOM = "0123456789abcdef0123"


@given(st.sampled_from(KNOWN[1:]))
def test_a_minted_identity_gives_back_its_platform(platform: str) -> None:
    """What `mint_identity` makes, `platform_from_identity` reads back from Twilio's From."""
    identity = mint_identity(platform)
    assert identity.startswith(f"p.{platform}.")
    assert platform_from_identity(f"client:{identity}", KNOWN) == platform


def test_two_identities_are_never_the_same() -> None:
    """Each token gets its own random part."""
    assert len({mint_identity("tiktok") for _ in range(200)}) == 200


@pytest.mark.parametrize(
    ("from_value", "expected"),
    [
        (f"client:p.instagram.{RANDOM}", "instagram"),
        (f"client:p.tiktok.{RANDOM}", "tiktok"),
        (f"client:p.snapchat.{RANDOM}", "unknown"),  # minted once, no longer configured
        (f"client:p.unknown.{RANDOM}", "unknown"),  # the call page for an unknown tag
        (f"client:p.phone.{RANDOM}", "unknown"),  # never minted: phone is not a partner
        ("+33612345678", None),  # a phone call
        ("client:amina", None),  # a counsellor's softphone
        ("", None),
        (f"p.instagram.{RANDOM}", None),  # not a client
        (f"client:p.Instagram.{RANDOM}", None),
        (f"client:p.instagram.{RANDOM}.x", None),
        ("client:p.instagram.short", None),
        (f"client:p.insta gram.{RANDOM}", None),
        (f"client:p.<script>.{RANDOM}", None),
        (f"client:x.instagram.{RANDOM}", None),
    ],
)
def test_the_platform_comes_from_a_partner_identity_only(
    from_value: str, expected: str | None
) -> None:
    """Only ``client:p.<platform>.<random>`` binds a platform; anything else is not ours."""
    assert platform_from_identity(from_value, KNOWN) == expected


@pytest.mark.parametrize(
    ("claimed", "mismatch"),
    [
        (None, False),
        ("", False),
        ("instagram", False),
        (" Insta-Gram ", False),
        ("tiktok", True),
        ("phone", True),
        ("<script>alert(1)</script>", True),
        ("no-such-platform", True),
    ],
)
def test_a_claimed_tag_naming_another_platform_is_a_mismatch(
    claimed: str | None, mismatch: bool
) -> None:
    """A spoofed ``platform`` custom parameter is told apart from a harmless one."""
    assert is_mismatch("instagram", claimed, KNOWN) is mismatch


def test_mismatches_are_counted_per_bound_platform(runtime: Runtime) -> None:
    """The counter the voice flow bumps when a claimed tag contradicts the token."""
    assert count_mismatch(runtime, "instagram") == 1
    assert count_mismatch(runtime, "instagram") == 2
    assert count_mismatch(runtime, "tiktok") == 1
    assert runtime.redis.hgetall(runtime.keys.partner_tag_mismatches) == {
        "instagram": "2",
        "tiktok": "1",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("IG-REPORT-42", "IG-REPORT-42"),
        ("  tt:1234.abc_DEF  ", "tt:1234.abc_DEF"),
        ("a" * MAX_REF, "a" * MAX_REF),
        ("a" * (MAX_REF + 1), None),  # too long: dropped, never cut
        ("", None),
        ("   ", None),
        ("<b>IG&42</b>", None),
        ("ref with spaces", None),
        ("réf", None),
        ("ref\nnext", None),
        ("+33612345678\u202e", None),
        (None, None),
        (42, None),
    ],
)
def test_report_reference_is_bounded_and_of_a_safe_charset(
    value: object, expected: str | None
) -> None:
    """1-128 characters of A-Z a-z 0-9 . _ : -, or nothing at all."""
    assert clean_report_ref(value) == expected


@given(st.text(max_size=300))
def test_a_cleaned_reference_is_always_safe(value: str) -> None:
    """Whatever comes in, what comes out is None or short and plain."""
    cleaned = clean_report_ref(value)
    if cleaned is not None:
        assert 1 <= len(cleaned) <= MAX_REF
        assert all(c.isascii() and (c.isalnum() or c in "._:-") for c in cleaned)
