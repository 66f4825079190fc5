"""The voice flow's state machine, without Redis or HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from acd.model import EnqueueResult, Outcome
from ivr import flow
from ivr.callrecord import CallerType, CallRecord, Consent, Language, Step
from ivr.flow import Options, Then, Turn, after_enqueue, answer, begin, rejoin, resume
from ivr.hours import Status

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
OPEN = Status(open=True, next_change=datetime(2026, 11, 23, 22, 0, tzinfo=UTC))
ALL_MENUS = Options()
NO_MENUS = Options(other_language=None, consent_menu=False, caller_type_menu=False)


def new_record() -> CallRecord:
    return CallRecord(call_sid="CA" + "1" * 32, caller="h:abc", platform="instagram", created_at=1)


def prompts(turn: Turn) -> list[str]:
    return [line.prompt for line in turn.say]


def walk(digits: list[str | None], options: Options = ALL_MENUS) -> Turn:
    """Begin a call on an open line and answer each menu in turn."""
    turn = begin(new_record(), OPEN, NOW, PARIS, options)
    for pressed in digits:
        assert turn.record is not None and turn.then is Then.GATHER
        turn = answer(turn.record, turn.record.step, pressed, options, NOW)
    return turn


def test_welcome_says_anonymous_and_danger_before_anything_else() -> None:
    """The first words are the welcome and the information; the first question comes after."""
    turn = begin(new_record(), OPEN, NOW, PARIS, ALL_MENUS)
    assert prompts(turn) == [flow.WELCOME, flow.INFORMATION]
    assert turn.then is Then.GATHER and turn.action == "/voice/menu/language"
    assert [(line.prompt, line.language) for line in turn.ask] == [
        (flow.LANGUAGE_OFFER, Language.EN)
    ]


def test_silence_at_every_menu_reaches_the_queue_with_the_defaults() -> None:
    """Nobody has to press a key: silence continues to the hand-off, French, no recording."""
    turn = walk([None, None, None])
    assert turn.then is Then.HANDOFF
    record = turn.record
    assert record is not None
    assert record.language is Language.FR
    assert record.recording_consent is Consent.NO
    assert record.caller_type is CallerType.UNKNOWN
    assert set(record.times) == {"language", "consent", "caller_type"}


def test_menus_come_in_order_language_consent_caller_type() -> None:
    """Each silent answer moves to the next menu's question and URL."""
    actions = []
    turn = begin(new_record(), OPEN, NOW, PARIS, ALL_MENUS)
    while turn.then is Then.GATHER:
        assert turn.record is not None
        actions.append(turn.action)
        turn = answer(turn.record, turn.record.step, "", ALL_MENUS, NOW)
    assert actions == ["/voice/menu/language", "/voice/menu/consent", "/voice/menu/caller_type"]


def test_pressing_2_switches_to_english_and_repeats_the_information() -> None:
    """An English speaker hears, in English, what the French welcome said."""
    turn = walk(["2"])
    assert turn.record is not None and turn.record.language is Language.EN
    assert [(line.prompt, line.language) for line in turn.say] == [(flow.INFORMATION, Language.EN)]
    assert all(line.language is Language.EN for line in turn.ask)


def test_recording_needs_the_key_and_is_acknowledged() -> None:
    """Only pressing 1 stores consent to record."""
    turn = walk([None, "1"])
    assert turn.record is not None and turn.record.recording_consent is Consent.YES
    assert flow.CONSENT_YES in prompts(turn)
    assert walk([None, "2"]).record.recording_consent is Consent.NO  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("pressed", "caller_type"),
    [("1", CallerType.YOUNG), ("2", CallerType.PARENT), ("3", CallerType.PROFESSIONAL)],
)
def test_caller_type_menu_sets_the_caller_type(pressed: str, caller_type: CallerType) -> None:
    """1 young person, 2 parent, 3 professional; then the hand-off."""
    turn = walk([None, None, pressed])
    assert turn.then is Then.HANDOFF
    assert turn.record is not None and turn.record.caller_type is caller_type


def test_an_invalid_key_is_asked_again_once_then_the_default_applies() -> None:
    """No endless loop: one kind retry, then the call moves on with the default."""
    first = walk([None, None, "9"])
    assert first.then is Then.GATHER and first.action == "/voice/menu/caller_type"
    assert prompts(first) == [flow.INVALID_RETRY]
    assert first.record is not None and first.record.attempts == 1
    second = answer(first.record, Step.CALLER_TYPE, "#", ALL_MENUS, NOW)
    assert second.then is Then.HANDOFF
    assert prompts(second) == [flow.INVALID_CONTINUE]
    assert second.record is not None and second.record.caller_type is CallerType.UNKNOWN


def test_silence_after_an_invalid_key_continues_without_complaint() -> None:
    """A timeout on the retry is silence: default, no "not understood"."""
    first = walk([None, "7"])
    assert first.record is not None
    turn = answer(first.record, Step.CONSENT, None, ALL_MENUS, NOW)
    assert turn.action == "/voice/menu/caller_type" and flow.INVALID_CONTINUE not in prompts(turn)


def test_with_every_menu_off_the_welcome_leads_straight_to_the_queue() -> None:
    """Menus are optional: without them the call is handed off after the information."""
    turn = begin(new_record(), OPEN, NOW, PARIS, NO_MENUS)
    assert turn.then is Then.HANDOFF
    assert prompts(turn) == [flow.WELCOME, flow.INFORMATION]


def test_language_menu_is_skipped_when_switched_off() -> None:
    """With the language menu off, consent is the first question."""
    options = replace(ALL_MENUS, other_language=None)
    turn = begin(new_record(), OPEN, NOW, PARIS, options)
    assert turn.action == "/voice/menu/consent"


def test_a_late_answer_for_another_menu_changes_nothing() -> None:
    """A repeated request for an earlier menu re-asks the current one, record unchanged."""
    turn = walk([None, None])
    record = turn.record
    assert record is not None and record.step is Step.CALLER_TYPE
    again = answer(record, Step.CONSENT, "1", ALL_MENUS, NOW)
    assert again.record == record
    assert again.action == "/voice/menu/caller_type" and prompts(again) == []
    assert answer(record, None, "1", ALL_MENUS, NOW).record == record


def test_closed_line_says_it_in_both_languages_and_records_closed() -> None:
    """Closed: the message, the reopening, the alternatives, then hang up; outcome closed."""
    status = Status(open=False, next_change=datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    turn = begin(new_record(), status, NOW, PARIS, ALL_MENUS)
    assert turn.then is Then.HANGUP and turn.outcome is Outcome.CLOSED
    assert turn.record is not None and turn.record.step is Step.CLOSED
    assert (
        prompts(turn)
        == [
            flow.CLOSED,
            "ivr.reopens_tomorrow",
            flow.ALTERNATIVES,
            flow.GOODBYE,
        ]
        * 2
    )
    assert {line.language for line in turn.say} == {Language.FR, Language.EN}


def test_queued_caller_hears_connecting_then_enqueue() -> None:
    """Queued by the ACD: a short line, then <Enqueue>."""
    handoff = walk([None, None, None])
    turn = after_enqueue(handoff, EnqueueResult(queued=True, position=3), NOW)
    assert turn.then is Then.ENQUEUE and prompts(turn) == [flow.CONNECTING]
    assert turn.record is not None and turn.record.step is Step.QUEUED


@pytest.mark.parametrize(
    ("reason", "message"),
    [("queue_full", "ivr.overflow_busy"), ("no_counsellor", "ivr.overflow_no_counsellor")],
)
def test_overflow_gives_the_reason_and_the_alternatives(reason: str, message: str) -> None:
    """Not queued: busy or nobody available, the alternatives, hang up."""
    handoff = walk([None, None, None])
    turn = after_enqueue(handoff, EnqueueResult(queued=False, reason=reason), NOW)
    assert turn.then is Then.HANGUP
    assert prompts(turn) == [message, flow.ALTERNATIVES, flow.GOODBYE]
    assert turn.record is not None and turn.record.step is Step.OVERFLOWED


def test_a_retried_first_request_resumes_instead_of_restarting() -> None:
    """The same call asking again: re-ask its menu, or re-enter the queue, never reset."""
    at_consent = walk([None])
    assert at_consent.record is not None
    again = resume(at_consent.record, ALL_MENUS)
    assert again.then is Then.GATHER and again.action == "/voice/menu/consent"
    assert prompts(again) == []
    queued = replace(at_consent.record, step=Step.QUEUED)
    assert resume(queued, ALL_MENUS).then is Then.ENQUEUE
    ended = replace(queued, outcome="answered")
    assert resume(ended, ALL_MENUS).then is Then.HANGUP


def test_rejoin_hands_a_live_call_back_and_says_goodbye_to_a_finished_one() -> None:
    """Back to the queue when possible; a call with an outcome hears the alternatives."""
    at_consent = walk([None])
    assert at_consent.record is not None
    back = rejoin(at_consent.record, apology=True)
    assert back.then is Then.HANDOFF and prompts(back) == [flow.APOLOGY]
    done = rejoin(replace(at_consent.record, outcome="overflowed"), apology=False)
    assert done.then is Then.HANGUP and prompts(done) == [flow.ALTERNATIVES, flow.GOODBYE]


def test_a_finished_call_handed_off_again_only_hears_goodbye() -> None:
    """The ACD answers "duplicate" for a call it already finished: no queue, no overflow text."""
    handoff = walk([None, None, None])
    turn = after_enqueue(handoff, EnqueueResult(queued=False, reason="duplicate"), NOW)
    assert turn.then is Then.HANGUP and prompts(turn) == [flow.ALTERNATIVES, flow.GOODBYE]
    assert turn.record == handoff.record


def test_an_unexpected_overflow_reason_uses_the_busy_wording() -> None:
    """Any other reason the ACD gives is told as a busy line."""
    handoff = walk([None, None, None])
    turn = after_enqueue(handoff, EnqueueResult(queued=False, reason="max_wait"), NOW)
    assert prompts(turn)[0] == "ivr.overflow_busy"
