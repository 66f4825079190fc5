"""``helpline counsellors`` through click's CliRunner on the test runtime."""

from __future__ import annotations

from click.testing import CliRunner

from acd.cli import counsellors
from acd.store import Acd
from tests.acd.conftest import caller


def run(*args: str):
    return CliRunner().invoke(counsellors, list(args))


def test_add_list_set_state_remove(runtime, acd: Acd) -> None:
    """The duty manager's round trip: add, see, make available, put on break, remove."""
    result = run(
        "add", "amina", "--name", "Amina K.", "--skill", "psychologist", "--skill", "digital",
        "--language", "fr", "--language", "en", "--endpoint", "client:amina",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "added amina" in result.output
    c = acd.get_counsellor("amina")
    assert c is not None and c.skills == ("psychologist", "digital") and c.languages == ("fr", "en")
    assert c.state.value == "offline"

    assert run("set-state", "amina", "available").exit_code == 0
    listing = run("list").output
    assert "Amina K." in listing and "available" in listing and "psychologist,digital" in listing

    result = run("set-state", "amina", "break", "--reason", "lunch")
    assert result.exit_code == 0 and "break (lunch)" in result.output
    assert "break (lunch)" in run("list").output

    assert run("remove", "amina").exit_code == 0
    assert acd.get_counsellor("amina") is None
    assert "no counsellors yet" in run("list").output


def test_language_defaults_to_french_and_numbers_are_normalised(runtime, acd: Acd) -> None:
    """--language defaults to fr; an E.164 endpoint may be typed with spaces."""
    result = run(
        "add", "bob", "--name", "Bob", "--skill", "lawyer", "--endpoint", "+33 6 12 34 56 78"
    )
    assert result.exit_code == 0, result.output
    c = acd.get_counsellor("bob")
    assert c is not None and c.languages == ("fr",) and c.endpoint == "+33612345678"


def test_bad_input_is_refused_with_a_message(runtime) -> None:
    """Unknown skill, bad endpoint, duplicate id, unknown counsellor, non-manual state."""
    ok = ("--name", "X", "--skill", "lawyer", "--endpoint", "client:x")
    assert run("add", "x", *ok).exit_code == 0
    dup = run("add", "x", *ok)
    assert dup.exit_code != 0 and "already exists" in dup.output
    bad_skill = run("add", "y", "--name", "Y", "--skill", "astrology", "--endpoint", "client:y")
    assert bad_skill.exit_code != 0 and "skills must be among" in bad_skill.output
    bad_endpoint = run("add", "z", "--name", "Z", "--skill", "lawyer", "--endpoint", "0612345678")
    assert bad_endpoint.exit_code != 0 and "E.164" in bad_endpoint.output
    assert "no counsellor" in run("set-state", "nobody", "available").output
    assert run("set-state", "x", "on-call").exit_code != 0
    assert "no counsellor" in run("remove", "nobody").output


def test_a_counsellor_on_a_call_cannot_be_logged_out(runtime, acd: Acd, clock) -> None:
    """set-state and remove are refused while reserved or on a call."""
    run("add", "amina", "--name", "A", "--skill", "psychologist", "--endpoint", "client:a")
    run("set-state", "amina", "available")
    acd.enqueue(caller("CA1", clock.now()))
    reservation = acd.reserve_next()
    assert reservation is not None
    result = run("set-state", "amina", "offline")
    assert result.exit_code != 0 and "being offered a call" in result.output
    assert run("remove", "amina").exit_code != 0
    acd.accept(reservation.id)
    assert run("set-state", "amina", "break").exit_code != 0
    result = run("set-state", "amina", "available", "--force")  # the call's end was lost
    assert result.exit_code == 0 and "available" in result.output
    assert acd.get_reservation(reservation.id).status.value == "ended"
    acd.set_state("amina", "available")
    acd.enqueue(caller("CA2", clock.now()))
    reservation = acd.reserve_next()
    acd.accept(reservation.id)
    acd.call_ended(reservation.id)
    result = run("set-state", "amina", "available")  # ends wrap-up early
    assert result.exit_code == 0 and "available" in result.output


def test_update_changes_skills(runtime, acd: Acd) -> None:
    """update replaces the skills."""
    run("add", "amina", "--name", "A", "--skill", "psychologist", "--endpoint", "client:a")
    result = run("update", "amina", "--skill", "lawyer", "--name", "Amina")
    assert result.exit_code == 0, result.output
    c = acd.get_counsellor("amina")
    assert c is not None and c.skills == ("lawyer",) and c.name == "Amina"


def test_the_helpline_command_carries_the_group(runtime) -> None:
    """`helpline counsellors …` is wired to this group."""
    from helpline.cli import main

    result = CliRunner().invoke(main, ["counsellors", "list"])
    assert result.exit_code == 0, result.output


def test_making_a_counsellor_available_offers_them_a_waiting_caller_at_once(
    runtime, acd: Acd, clock, twilio_http
) -> None:
    """set-state available requests a dispatch: the waiting caller rings at once, no sweep."""
    run("add", "amina", "--name", "Amina", "--skill", "psychologist", "--endpoint", "client:amina")
    run("add", "bruno", "--name", "Bruno", "--skill", "psychologist", "--endpoint", "client:bruno")
    run("set-state", "bruno", "break", "--reason", "pause")  # someone is logged in: no overflow
    assert acd.enqueue(caller("CA1", clock.now())).queued
    assert twilio_http.calls_created() == []
    assert run("set-state", "amina", "available").exit_code == 0
    assert [r.data["To"] for r in twilio_http.calls_created()] == ["client:amina"]
