"""Opening hours: the weekly schedule in Paris time, dated exceptions, DST and midnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpline.clock import FrozenClock
from helpline.settings import load_config
from ivr.callrecord import CallRecord, Language
from ivr.flow import Options, begin
from ivr.hours import Day, HoursException, Kind, Schedule, day_word, is_open, open_at
from ivr.prompts import render_line

PARIS = ZoneInfo("Europe/Paris")
EVERY_DAY = {
    day: ("09:00-23:00",)
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
}
SCHEDULE = Schedule.from_config(EVERY_DAY, "Europe/Paris")


def at(text: str) -> datetime:
    """An ISO time; without an offset, Paris wall-clock time."""
    when = datetime.fromisoformat(text)
    return when.replace(tzinfo=PARIS) if when.tzinfo is None else when


def closed(start: str, end: str, xid: str = "c") -> HoursException:
    return HoursException(xid, Kind.CLOSED, at(start), at(end))


def opened(start: str, end: str, xid: str = "o") -> HoursException:
    return HoursException(xid, Kind.OPEN, at(start), at(end))


NEW_YEAR_LATE = opened("2026-12-31T23:00", "2027-01-01T02:00")
CHRISTMAS = closed("2026-12-25T00:00", "2026-12-26T00:00")

CASES = [
    # label, now, exceptions, open?, next change
    ("a second before opening", "2026-11-23T08:59:59", [], False, "2026-11-23T09:00"),
    ("opening time", "2026-11-23T09:00", [], True, "2026-11-23T23:00"),
    ("a second before closing", "2026-11-23T22:59:59", [], True, "2026-11-23T23:00"),
    ("closing time", "2026-11-23T23:00", [], False, "2026-11-24T09:00"),
    ("just after midnight", "2026-11-24T00:30", [], False, "2026-11-24T09:00"),
    # Summer time starts on Sunday 29 March 2026 (02:00 → 03:00): the hours do not move.
    ("spring night before", "2026-03-28T23:00+01:00", [], False, "2026-03-29T09:00+02:00"),
    ("spring change hour", "2026-03-29T01:30Z", [], False, "2026-03-29T07:00Z"),
    ("spring opening", "2026-03-29T07:00Z", [], True, "2026-03-29T21:00Z"),
    ("spring before opening", "2026-03-29T06:59:59Z", [], False, "2026-03-29T07:00Z"),
    # Winter time starts on Sunday 25 October 2026 (03:00 → 02:00).
    ("autumn night before", "2026-10-24T23:00+02:00", [], False, "2026-10-25T09:00+01:00"),
    ("autumn repeated hour", "2026-10-25T02:30+01:00", [], False, "2026-10-25T08:00Z"),
    ("autumn opening", "2026-10-25T08:00Z", [], True, "2026-10-25T22:00Z"),
    ("autumn before opening", "2026-10-25T07:59:59Z", [], False, "2026-10-25T08:00Z"),
    ("autumn closing", "2026-10-25T22:00Z", [], False, "2026-10-26T08:00Z"),
    # An exception across midnight: open late on New Year's Eve until 02:00.
    ("open late, before midnight", "2026-12-31T23:30", [NEW_YEAR_LATE], True, "2027-01-01T02:00"),
    ("open late, after midnight", "2027-01-01T01:59", [NEW_YEAR_LATE], True, "2027-01-01T02:00"),
    ("open late, over", "2027-01-01T02:00", [NEW_YEAR_LATE], False, "2027-01-01T09:00"),
    ("open late joins the day", "2026-12-31T22:00", [NEW_YEAR_LATE], True, "2027-01-01T02:00"),
    ("closed all day", "2026-12-25T10:00", [CHRISTMAS], False, "2026-12-26T09:00"),
    ("the day before a day off", "2026-12-24T12:00", [CHRISTMAS], True, "2026-12-24T23:00"),
    ("night before a day off", "2026-12-24T23:30", [CHRISTMAS], False, "2026-12-26T09:00"),
    (
        "closed from the afternoon",
        "2026-12-24T12:00",
        [closed("2026-12-24T18:00", "2026-12-25T00:00")],
        True,
        "2026-12-24T18:00",
    ),
    (
        "closed until late morning",
        "2026-11-23T09:30",
        [closed("2026-11-23T00:00", "2026-11-23T11:00")],
        False,
        "2026-11-23T11:00",
    ),
    (
        "closed beats open where they overlap",
        "2026-11-23T12:00",
        [
            opened("2026-11-23T00:00", "2026-11-24T00:00"),
            closed("2026-11-23T10:00", "2026-11-23T14:00"),
        ],
        False,
        "2026-11-23T14:00",
    ),
    ("no exception in the past counts", "2026-12-26T12:00", [CHRISTMAS], True, "2026-12-26T23:00"),
]


@pytest.mark.parametrize(
    ("now", "exceptions", "expected_open", "next_change"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_opening_hours_table(
    now: str, exceptions: list[HoursException], expected_open: bool, next_change: str
) -> None:
    """Open 09:00-23:00 Paris time every day, whatever the season; exceptions override it."""
    status = is_open(at(now), SCHEDULE, exceptions)
    assert status.open is expected_open
    assert status.next_change == at(next_change)


def test_an_open_exception_opens_a_closed_day() -> None:
    """A day without weekly hours opens for the span of an open exception, and only then."""
    no_sunday = Schedule.from_config(
        {**EVERY_DAY, "sunday": ()},  # 2026-11-29 is a Sunday
        "Europe/Paris",
    )
    special = opened("2026-11-29T14:00", "2026-11-29T18:00")
    assert is_open(at("2026-11-29T10:00"), no_sunday, []).next_change == at("2026-11-30T09:00")
    morning = is_open(at("2026-11-29T10:00"), no_sunday, [special])
    assert (morning.open, morning.next_change) == (False, at("2026-11-29T14:00"))
    afternoon = is_open(at("2026-11-29T15:00"), no_sunday, [special])
    assert (afternoon.open, afternoon.next_change) == (True, at("2026-11-29T18:00"))


def test_a_line_that_never_opens_has_no_next_change() -> None:
    """With no weekly hours and no exception, the line is closed and nothing changes it."""
    never = Schedule.from_config({}, "Europe/Paris")
    assert is_open(at("2026-11-23T12:00"), never, []).next_change is None


def test_a_far_exception_is_found_after_a_long_closure() -> None:
    """A closure of several weeks ends on the first weekly opening after it."""
    works = closed("2026-07-01T00:00", "2026-08-15T12:00")
    status = is_open(at("2026-07-10T12:00"), SCHEDULE, [works])
    assert (status.open, status.next_change) == (False, at("2026-08-15T12:00"))
    late = closed("2026-07-01T00:00", "2026-08-15T23:30")
    assert is_open(at("2026-07-10T12:00"), SCHEDULE, [late]).next_change == at("2026-08-16T09:00")


def test_an_exception_must_be_aware_and_end_after_it_starts() -> None:
    """Naive or empty exceptions are refused."""
    with pytest.raises(ValueError, match="time zone"):
        HoursException("1", Kind.OPEN, datetime(2026, 1, 1, 9), datetime(2026, 1, 1, 10))
    with pytest.raises(ValueError, match="end after"):
        opened("2026-01-01T10:00", "2026-01-01T09:00")


def test_an_exception_survives_its_json_form() -> None:
    """What the store writes, it reads back identical (instants in UTC)."""
    original = HoursException(
        "7", Kind.CLOSED, at("2026-12-24T18:00"), at("2026-12-25T09:00"), "Noël"
    )
    assert HoursException.from_json("7", original.to_json()) == original
    with pytest.raises(ValueError, match="malformed"):
        HoursException.from_json("8", '{"kind": "sometimes"}')


@pytest.mark.parametrize(
    ("now", "when", "word"),
    [
        ("2026-11-23T08:00", "2026-11-23T09:00", Day.TODAY),
        ("2026-11-23T00:30", "2026-11-23T09:00", Day.TODAY),
        ("2026-11-23T23:30", "2026-11-24T09:00", Day.TOMORROW),
        ("2026-11-23T23:30", "2026-11-25T09:00", Day.LATER),
        # 23:30 UTC on the 23rd is already the 24th in Paris: "today".
        ("2026-11-23T23:30Z", "2026-11-24T09:00", Day.TODAY),
    ],
)
def test_reopening_day_is_counted_in_the_helplines_zone(now: str, when: str, word: Day) -> None:
    """Today and tomorrow are Paris dates, not UTC ones."""
    assert day_word(at(now), at(when), PARIS) is word


@pytest.mark.parametrize(
    ("now", "exceptions", "language", "sentence"),
    [
        ("2026-11-23T08:00", [], Language.FR, "Nous serons de nouveau là aujourd'hui à 9 heures."),
        ("2026-11-23T23:30", [], Language.FR, "Nous serons de nouveau là demain à 9 heures."),
        (
            "2026-11-23T23:30",
            [closed("2026-11-24T00:00", "2026-11-25T00:00")],
            Language.FR,
            "Nous serons de nouveau là mercredi 25 novembre à 9 heures.",
        ),
        (
            "2026-11-29T23:30",
            [closed("2026-11-30T00:00", "2026-12-01T10:30")],
            Language.FR,
            "Nous serons de nouveau là mardi 1er décembre à 10 heures 30.",
        ),
        ("2026-11-23T08:00", [], Language.EN, "We will be back today at 9 am."),
        ("2026-11-23T23:30", [], Language.EN, "We will be back tomorrow at 9 am."),
        (
            "2026-11-23T23:30",
            [closed("2026-11-24T00:00", "2026-11-25T00:00")],
            Language.EN,
            "We will be back on Wednesday 25 November at 9 am.",
        ),
    ],
)
def test_closed_message_says_when_the_line_reopens(
    now: str, exceptions: list[HoursException], language: Language, sentence: str
) -> None:
    """The closed message computes "today at 9", "tomorrow at 9" or the date, in each language."""
    config = load_config(None)
    clock = FrozenClock()
    clock.set(at(now))
    record = CallRecord(call_sid="CA" + "1" * 32, caller="h:x", platform="phone")
    status = is_open(clock.now(), SCHEDULE, exceptions)
    turn = begin(record, status, clock.now(), PARIS, Options())
    spoken = [render_line(config, line).text for line in turn.say if line.language is language]
    assert sentence in spoken


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(2026, 1, 1),
        max_value=datetime(2027, 12, 31),
        timezones=st.just(UTC),
    )
)
def test_next_change_is_the_first_instant_that_changes_the_state(now: datetime) -> None:
    """The state holds until next_change and flips exactly there (DST, exceptions and all)."""
    exceptions = [NEW_YEAR_LATE, CHRISTMAS, closed("2026-03-28T20:00", "2026-03-29T10:00")]
    status = is_open(now, SCHEDULE, exceptions)
    assert status.next_change is not None and status.next_change > now
    assert open_at(status.next_change, SCHEDULE, exceptions) is not status.open
    assert open_at(status.next_change - timedelta(seconds=1), SCHEDULE, exceptions) is status.open
    assert open_at(now + (status.next_change - now) / 2, SCHEDULE, exceptions) is status.open
    if not any(x.covers(now) for x in exceptions):
        local = now.astimezone(PARIS)
        assert status.open is (9 <= local.hour < 23)
