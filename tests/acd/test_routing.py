"""Pure routing decisions: order, ageing, relaxation, longest idle, estimated wait."""

from __future__ import annotations

import pytest

from acd import routing
from acd.routing import CallerView, CounsellorView, select_pair

T0 = 1_795_000_000_000  # ms


def waiting(sid: str, enqueued_s: float, priority: int = 0, skill: str = "psychologist",
            language: str = "fr", relax_after: int = 120) -> CallerView:  # fmt: skip
    enqueued = T0 + int(enqueued_s * 1000)
    return CallerView(
        call_sid=sid,
        skill=skill,
        language=language,
        order_ms=routing.order_key_ms(enqueued, priority),
        relax_at_ms=routing.relax_at_ms(enqueued, relax_after),
    )


def idle(
    cid: str, since_s: float, skills: str = "psychologist", langs: str = "fr"
) -> CounsellorView:
    return CounsellorView(
        id=cid,
        skills=frozenset(skills.split(",")),
        languages=frozenset(langs.split(",")),
        idle_since_ms=T0 + int(since_s * 1000),
    )


def test_longest_waiting_caller_goes_first() -> None:
    """Equal priority: arrival order."""
    callers = [waiting("CA2", 10), waiting("CA1", 5), waiting("CA3", 20)]
    assert select_pair(callers, [idle("amina", 0)], T0 + 30_000) == ("CA1", "amina")


def test_priority_is_a_head_start_in_seconds() -> None:
    """A 60 s head start beats a caller who came 59 s earlier, not one who came 61 s earlier."""
    young = waiting("CA-young", 100, priority=60)
    assert select_pair([waiting("CA-early", 41), young], [idle("a", 0)], T0 + 110_000)[0] == (
        "CA-young"
    )
    assert select_pair([waiting("CA-earlier", 39), young], [idle("a", 0)], T0 + 110_000)[0] == (
        "CA-earlier"
    )


def test_equal_order_keys_fall_back_to_call_sid_order() -> None:
    """Ties are broken by CallSid, as Redis sorts equal scores."""
    callers = [waiting("CAb", 10), waiting("CAa", 10)]
    assert select_pair(callers, [idle("x", 0)], T0 + 20_000) == ("CAa", "x")


def test_ageing_lets_an_old_low_priority_caller_overtake() -> None:
    """Waiting counts: priority is finite, so everyone is eventually first."""
    old = waiting("CA-old", 0, priority=0)
    new = waiting("CA-new", 100, priority=60)
    assert select_pair([old, new], [idle("a", 0)], T0 + 120_000)[0] == "CA-old"


def test_skill_is_required_until_relaxed() -> None:
    """A lawyer is not offered a caller needing a psychologist before skill_relax_after."""
    caller = waiting("CA1", 0, skill="psychologist")
    lawyer = idle("lea", 0, skills="lawyer")
    assert select_pair([caller], [lawyer], T0 + 119_999) is None
    assert select_pair([caller], [lawyer], T0 + 120_000) == ("CA1", "lea")


def test_language_is_required_until_relaxed() -> None:
    """An English-speaking caller waits for an English-speaking counsellor, then anyone."""
    caller = waiting("CA1", 0, language="en")
    french_only = idle("amina", 0, langs="fr")
    both = idle("bob", 50, langs="fr,en")
    assert select_pair([caller], [french_only], T0 + 60_000) is None
    assert select_pair([caller], [french_only, both], T0 + 60_000) == ("CA1", "bob")
    assert select_pair([caller], [french_only, both], T0 + 130_000) == ("CA1", "amina")


def test_best_caller_some_counsellor_can_take_then_longest_idle_for_them() -> None:
    """A caller nobody available can take does not block the next one."""
    needs_lawyer = waiting("CA1", 0, skill="lawyer")
    needs_psy = waiting("CA2", 10)
    psy_recent = idle("recent", 30)
    psy_long = idle("long", 5)
    assert select_pair([needs_lawyer, needs_psy], [psy_recent, psy_long], T0 + 40_000) == (
        "CA2",
        "long",
    )


def test_longest_idle_ties_break_by_id() -> None:
    """Two counsellors idle since the same instant: id order."""
    assert select_pair([waiting("CA1", 0)], [idle("zoe", 0), idle("ali", 0)], T0) == (
        "CA1",
        "ali",
    )


def test_nobody_available_means_no_pair() -> None:
    """No counsellor: None (a normal outcome)."""
    assert select_pair([waiting("CA1", 0)], [], T0) is None
    assert select_pair([], [idle("a", 0)], T0) is None


def test_pools_cross_skills_and_languages() -> None:
    """One pool per skill and language."""
    assert routing.pools(["psychologist", "lawyer"], ["fr", "en"]) == (
        "psychologist:fr",
        "psychologist:en",
        "lawyer:fr",
        "lawyer:en",
    )


@pytest.mark.parametrize(
    ("position", "serving", "available", "handles", "expected"),
    [
        (1, 0, 0, [], None),  # nobody taking calls: no estimate
        (1, 2, 1, [600], 0),  # someone is free now
        (2, 2, 1, [600], 300),  # one ahead of the free ones, two counsellors: AHT / 2
        (3, 1, 0, [300, 500], 1200),  # three calls of 400 s each ahead of a single counsellor
        (1, 3, 0, [], 200),  # no measure yet: the default handle time
        (1, 3, 0, [100], 34),  # rounded up, never down
    ],
)
def test_estimated_wait(position, serving, available, handles, expected) -> None:
    """Estimated wait from position, counsellors serving and recent handle times."""
    assert routing.estimated_wait_s(position, serving, available, handles) == expected


def test_unknown_routing_values_fall_back() -> None:
    """An unknown skill or language becomes the default."""
    assert routing.routing_value("astrology", ("psychologist",), "psychologist") == "psychologist"
    assert routing.routing_value("en", ("fr", "en"), "fr") == "en"
