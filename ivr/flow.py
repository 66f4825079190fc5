"""What the caller hears next: the voice flow as a pure state machine.

Given the call record and the caller's input (the digits pressed, or none), each function
returns a `Turn`: the record as it should be stored afterwards, what to say, and what happens
then (ask a menu question and post the answer to ``action``, hand the call to the ACD, put it in
the Twilio queue, or hang up). No Redis, no Flask, no Twilio here: the views parse the request,
call these functions, do the I/O the turn asks for and render it.

The call, when the line is open::

    welcome + anonymous and confidential + danger → 17/112   (default language)
    [language]     "For English, press 2"        silence → default language
    [consent]      "press 1 to accept recording"  silence → not recorded
    [caller type]  young 1 / parent 2 / professional 3   silence → unknown
    hand-off to the ACD → <Enqueue>, or the overflow message and hang up

Each bracketed menu can be switched off in ``[menus]``. Silence always continues: nobody has
to press a key to reach a counsellor. An invalid key gets one kind retry, then the default.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from acd.model import EnqueueResult, Outcome
from helpline.settings import HelplineConfig
from ivr.callrecord import CallerType, CallRecord, Consent, Language, Step
from ivr.hours import Day, Status, day_word

MENUS = (Step.LANGUAGE, Step.CONSENT, Step.CALLER_TYPE)
MAX_RETRIES = 1  # an invalid key is asked again once, then the default applies

# Prompt ids (catalogues ivr/prompts/<language>.toml, section [ivr]).
WELCOME = "ivr.welcome"
INFORMATION = "ivr.information"
LANGUAGE_OFFER = "ivr.language_offer"
CONSENT_QUESTION = "ivr.consent_question"
CONSENT_YES = "ivr.consent_yes"
CALLER_TYPE_QUESTION = "ivr.caller_type_question"
INVALID_RETRY = "ivr.invalid_retry"
INVALID_CONTINUE = "ivr.invalid_continue"
CONNECTING = "ivr.connecting"
CLOSED = "ivr.closed"
REOPENS = {Day.TODAY: "ivr.reopens_today", Day.TOMORROW: "ivr.reopens_tomorrow"}
REOPENS_ON = "ivr.reopens_on"
REOPENS_UNKNOWN = "ivr.reopens_unknown"
ALTERNATIVES = "ivr.alternatives"
GOODBYE = "ivr.goodbye"
OVERFLOW = {"queue_full": "ivr.overflow_busy", "no_counsellor": "ivr.overflow_no_counsellor"}
APOLOGY = "ivr.apology"


def menu_path(step: Step) -> str:
    """The webhook path a menu's answer is posted to."""
    return f"/voice/menu/{step.value}"


class Then(StrEnum):
    """What happens after the turn's words."""

    GATHER = "gather"  # ask ``ask`` inside <Gather>, answer posted to ``action``
    HANDOFF = "handoff"  # the view enqueues in the ACD, then calls `after_enqueue`
    ENQUEUE = "enqueue"  # <Enqueue> into the helpline's Twilio queue
    HANGUP = "hangup"


@dataclass(frozen=True)
class Line:
    """One prompt to say: its id, the language, and a time it speaks (reopening) if any."""

    prompt: str
    language: Language
    when: datetime | None = None  # aware, in the helpline's zone


@dataclass(frozen=True)
class Turn:
    """The flow's answer to one webhook."""

    record: CallRecord | None  # None only when the request had no usable CallSid
    then: Then
    say: tuple[Line, ...] = ()
    ask: tuple[Line, ...] = ()
    action: str | None = None
    outcome: Outcome | None = None  # an outcome the view records through the ACD


@dataclass(frozen=True)
class Options:
    """The parts of the configuration the flow needs."""

    default_language: Language = Language.FR
    other_language: Language | None = Language.EN  # offered by the language menu; None: off
    consent_menu: bool = True
    caller_type_menu: bool = True

    @classmethod
    def from_config(cls, config: HelplineConfig) -> Options:
        """From ``[helpline]`` languages and ``[menus]``."""
        default = _language(config.helpline.default_language) or Language.FR
        others = [
            lang
            for code in config.helpline.languages
            if (lang := _language(code)) is not None and lang != default
        ]
        return cls(
            default_language=default,
            other_language=others[0] if config.menus.language and others else None,
            consent_menu=config.menus.recording_consent,
            caller_type_menu=config.menus.caller_type,
        )

    def menus(self) -> tuple[Step, ...]:
        """The menus switched on, in the order they are asked."""
        on = {
            Step.LANGUAGE: self.other_language is not None,
            Step.CONSENT: self.consent_menu,
            Step.CALLER_TYPE: self.caller_type_menu,
        }
        return tuple(step for step in MENUS if on[step])


def begin(
    record: CallRecord, status: Status, now: datetime, zone: ZoneInfo, options: Options
) -> Turn:
    """A new call: the closed message, or the welcome and the first menu."""
    if not status.open:
        closed = replace(record, step=Step.CLOSED).at("closed", now)
        say: tuple[Line, ...] = ()
        for language in _spoken(options):
            say += (Line(CLOSED, language), _reopening(status, now, zone, language))
            say += (Line(ALTERNATIVES, language), Line(GOODBYE, language))
        return Turn(closed, Then.HANGUP, say=say, outcome=Outcome.CLOSED)
    language = options.default_language
    return _next(record, None, options, (Line(WELCOME, language), Line(INFORMATION, language)))


def answer(
    record: CallRecord, step: Step | None, digits: str | None, options: Options, now: datetime
) -> Turn:
    """The caller answered the menu ``step`` with ``digits`` (None or empty: silence)."""
    if record.outcome is not None or step is None or step is not record.step or step not in MENUS:
        return resume(record, options)  # a repeated or late request: stay where the call is
    say: tuple[Line, ...] = ()
    chosen = _choose(record, step, digits, options) if digits else _default(record, step, options)
    if chosen is None:
        if record.attempts < MAX_RETRIES:
            again = replace(record, attempts=record.attempts + 1)
            return _ask(again, options, say=(Line(INVALID_RETRY, record.language),))
        chosen = _default(record, step, options)
        say += (Line(INVALID_CONTINUE, record.language),)
    chosen = replace(chosen, attempts=0).at(step.value, now)
    if step is Step.LANGUAGE and chosen.language is not record.language:
        say += (Line(INFORMATION, chosen.language),)  # what the welcome said, understood now
    if step is Step.CONSENT and chosen.recording_consent is Consent.YES:
        say += (Line(CONSENT_YES, chosen.language),)
    return _next(chosen, step, options, say)


def resume(record: CallRecord, options: Options) -> Turn:
    """An existing call asks again (a retried request): carry on from where it is, no reset."""
    if record.outcome is not None or record.step in (Step.OVERFLOWED, Step.CLOSED):
        return _goodbye(record, ())
    if record.step is Step.QUEUED:
        return Turn(record, Then.ENQUEUE)
    if record.step in options.menus():
        return _ask(record, options)
    return _next(record, record.step if record.step in MENUS else None, options, ())


def rejoin(record: CallRecord, *, apology: bool) -> Turn:
    """Back to the queue when possible (after an error, or from Twilio's fallback URL)."""
    say = (Line(APOLOGY, record.language),) if apology else ()
    if record.outcome is not None or record.step in (Step.OVERFLOWED, Step.CLOSED):
        return _goodbye(record, say)
    return Turn(record, Then.HANDOFF, say=say)


def after_enqueue(turn: Turn, result: EnqueueResult, now: datetime) -> Turn:
    """The ACD's answer to a hand-off: into the Twilio queue, or the overflow message."""
    record = turn.record
    if record is None:
        raise ValueError("a hand-off needs a call record")
    language = record.language
    if result.queued:
        queued = replace(record, step=Step.QUEUED).at("queued", now)
        return Turn(queued, Then.ENQUEUE, say=(*turn.say, Line(CONNECTING, language)))
    if result.reason == "duplicate":  # the ACD already finished with this call
        return _goodbye(record, turn.say)
    prompt = OVERFLOW.get(result.reason or "", OVERFLOW["queue_full"])
    overflowed = replace(record, step=Step.OVERFLOWED).at("overflowed", now)
    return _goodbye(overflowed, (*turn.say, Line(prompt, language)))


def cannot_serve(options: Options, *, apology: bool = True) -> Turn:
    """A request we cannot tie to a caller (no usable CallSid): the alternatives, hang up."""
    language = options.default_language
    say = (Line(APOLOGY, language),) if apology else ()
    return Turn(None, Then.HANGUP, say=say + _alternatives(language))


# --- helpers ---------------------------------------------------------------------------------


def _next(record: CallRecord, after: Step | None, options: Options, say: tuple[Line, ...]) -> Turn:
    """Ask the next menu switched on after ``after``, or hand the call to the ACD."""
    later = MENUS if after is None else MENUS[MENUS.index(after) + 1 :]
    for step in later:
        if step in options.menus():
            return _ask(replace(record, step=step, attempts=0), options, say=say)
    return Turn(record, Then.HANDOFF, say=say)


def _ask(record: CallRecord, options: Options, say: tuple[Line, ...] = ()) -> Turn:
    """The question of the record's current menu inside a <Gather>."""
    step = record.step
    if step is Step.LANGUAGE and options.other_language is not None:
        ask = (Line(LANGUAGE_OFFER, options.other_language),)
    elif step is Step.CONSENT:
        ask = (Line(CONSENT_QUESTION, record.language),)
    else:
        ask = (Line(CALLER_TYPE_QUESTION, record.language),)
    return Turn(record, Then.GATHER, say=say, ask=ask, action=menu_path(step))


def _choose(record: CallRecord, step: Step, digits: str, options: Options) -> CallRecord | None:
    """The record with the choice ``digits`` make at ``step``; None for an invalid key."""
    if step is Step.LANGUAGE:
        other = options.other_language
        languages = {"1": options.default_language, "2": other} if other else {}
        language = languages.get(digits)
        return replace(record, language=language) if language else None
    if step is Step.CONSENT:
        consent = {"1": Consent.YES, "2": Consent.NO}.get(digits)
        return replace(record, recording_consent=consent) if consent else None
    caller_type = {
        "1": CallerType.YOUNG,
        "2": CallerType.PARENT,
        "3": CallerType.PROFESSIONAL,
    }.get(digits)
    return replace(record, caller_type=caller_type) if caller_type else None


def _default(record: CallRecord, step: Step, options: Options) -> CallRecord:
    """The record with the choice silence makes at ``step``."""
    if step is Step.LANGUAGE:
        return replace(record, language=options.default_language)
    if step is Step.CONSENT:
        return replace(record, recording_consent=Consent.NO)
    return replace(record, caller_type=CallerType.UNKNOWN)


def _goodbye(record: CallRecord, say: tuple[Line, ...]) -> Turn:
    return Turn(record, Then.HANGUP, say=say + _alternatives(record.language))


def _alternatives(language: Language) -> tuple[Line, ...]:
    return (Line(ALTERNATIVES, language), Line(GOODBYE, language))


def _reopening(status: Status, now: datetime, zone: ZoneInfo, language: Language) -> Line:
    """ "We reopen today at 9", "tomorrow at 9", "on Monday 24 November at 9"."""
    if status.next_change is None:
        return Line(REOPENS_UNKNOWN, language)
    when = status.next_change.astimezone(zone)
    return Line(REOPENS.get(day_word(now, when, zone), REOPENS_ON), language, when)


def _spoken(options: Options) -> tuple[Language, ...]:
    """Languages a message before any choice is said in: the default, then the other."""
    other = options.other_language
    return (options.default_language,) + ((other,) if other else ())


def _language(code: str) -> Language | None:
    try:
        return Language(code)
    except ValueError:
        return None
