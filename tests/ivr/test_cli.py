"""``helpline hours``: show, check, open, close, clear."""

from __future__ import annotations

from click.testing import CliRunner, Result

from helpline.cli import main
from helpline.runtime import Runtime
from ivr import hours_store


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["hours", *args], catch_exceptions=False)


def test_show_lists_the_weekly_schedule_and_exceptions(runtime: Runtime) -> None:
    """Every day with its hours, then each exception with its id, in the helpline's zone."""
    empty = run("show")
    assert empty.exit_code == 0
    assert "Weekly schedule (Europe/Paris)" in empty.output
    assert "monday     09:00-23:00" in empty.output and "none" in empty.output
    new_id = run(
        "close", "--from", "2026-12-24T18:00", "--until", "2026-12-25T09:00", "--note", "Noël"
    )
    listed = run("show").output
    line = next(line for line in listed.splitlines() if "Noël" in line)
    assert line.split()[:2] == [new_id.output.strip(), "closed"]
    assert "2026-12-24 18:00 Europe/Paris → 2026-12-25 09:00 Europe/Paris" in line


def test_check_answers_open_or_closed_with_the_next_change(runtime: Runtime) -> None:
    """First word open or closed, then when that changes, in Paris time."""
    assert run("check", "--at", "2026-11-23T08:30").output.strip() == (
        "closed — reopens 2026-11-23 09:00 Europe/Paris"
    )
    assert run("check", "--at", "2026-11-23T12:00:00+00:00").output.strip() == (
        "open — closes 2026-11-23 23:00 Europe/Paris"
    )
    assert run("check", "--at", "2026-11-23T22:30:00Z").output.startswith(
        "closed — reopens 2026-11-24 09:00"
    )


def test_check_without_a_time_uses_the_clock(runtime: Runtime) -> None:
    """No --at: now, from the runtime's clock (13:00 in Paris in tests)."""
    assert run("check").output.startswith("open — closes 2026-11-23 23:00")


def test_open_and_close_change_the_answer_at_once(runtime: Runtime) -> None:
    """An exception printed by id applies to the next check; clear removes it."""
    late = run("open", "--from", "2026-11-23T23:00", "--until", "2026-11-24T01:00").output.strip()
    assert run("check", "--at", "2026-11-23T23:30").output.strip() == (
        "open — closes 2026-11-24 01:00 Europe/Paris"
    )
    closed = run(
        "close", "--from", "2026-11-23T12:00", "--until", "2026-11-23T15:00"
    ).output.strip()
    assert closed != late
    assert run("check", "--at", "2026-11-23T13:00").output.startswith(
        "closed — reopens 2026-11-23 15:00"
    )
    assert run("clear", closed).output.strip() == f"cleared {closed}"
    assert run("check", "--at", "2026-11-23T13:00").output.startswith("open")
    assert [x.id for x in hours_store.list_exceptions(runtime.redis, runtime.keys)] == [late]


def test_wrong_input_is_refused_with_a_message(runtime: Runtime) -> None:
    """Bad times, an end before the start, an unknown id: a non-zero exit and why."""
    bad_time = run("close", "--from", "tomorrow", "--until", "2026-11-24T09:00")
    assert bad_time.exit_code != 0 and "ISO 8601" in bad_time.output
    backwards = run("open", "--from", "2026-11-24T09:00", "--until", "2026-11-24T08:00")
    assert backwards.exit_code != 0 and "after --from" in backwards.output
    unknown = run("clear", "42")
    assert unknown.exit_code != 0 and "no exception with id 42" in unknown.output
    assert hours_store.list_exceptions(runtime.redis, runtime.keys) == []
