"""The live panel's supervision tools: Listen / Whisper / Barge / Leave for each counsellor on a
call, who supervises and how, the manager's softphone panel, the in-call audit entries."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from acd.model import Counsellor, CounsellorState
from acd.store import Acd
from console.users import Role, Users
from dashboard.live import build_now
from helpline.clock import FrozenClock
from helpline.runtime import Runtime
from ivr.hours import Status
from tests.console.conftest import PASSWORD, Session, open_session
from tests.incall.conftest import CALLER_NUMBER, ParticipantsHttp
from tests.incall.conftest import live_call as start_call


@pytest.fixture
def twilio_http() -> ParticipantsHttp:
    """Records REST requests; knows Conference Participants."""
    return ParticipantsHttp()


@pytest.fixture
def on_call(runtime: Runtime, acd: Acd, clock: FrozenClock, counsellor: Session) -> str:
    """Amina on a call; Bruno on a break (not on a call)."""
    acd.add_counsellor("bruno", "Bruno C.", ["psychologist"], ["fr"], "client:bruno")
    acd.set_state("bruno", CounsellorState.BREAK, "pause")
    return start_call(runtime, acd, clock)


class Buttons(HTMLParser):
    """The supervision buttons of a page: (counsellor, mode, aria-pressed)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str | None, str | None, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "data-incall-supervise" in a:
            self.found.append(
                (a.get("data-counsellor"), a["data-incall-supervise"], a.get("aria-pressed"))
            )


def _snapshot_row(manager: Session, counsellor_id: str) -> dict[str, object]:
    now = manager.client.get("/dashboard/now.json").get_json()
    return next(c for c in now["counsellors"] if c["id"] == counsellor_id)


def test_managers_get_supervision_buttons_only_for_counsellors_on_a_call(
    manager: Session, on_call: str
) -> None:
    """Amina on a call has Listen, Whisper and Barge (no Leave yet); Bruno on a break has none;
    the page carries the CSRF token and the softphone's token URL, never the caller."""
    response = manager.client.get("/dashboard/")
    html = response.get_data(as_text=True)
    assert sorted(Buttons(html).found) == [
        ("amina", "barge", "false"),
        ("amina", "listen", "false"),
        ("amina", "whisper", "false"),
    ]
    assert f'<meta name="csrf-token" content="{manager.csrf}">' in html
    assert 'data-token-url="/incall/api/token"' in html
    assert "Personne n&#39;écoute" in html
    assert CALLER_NUMBER not in html
    row = _snapshot_row(manager, "amina")
    assert row["on_call"] is True and row["supervision"] is None
    assert _snapshot_row(manager, "bruno")["on_call"] is False


def test_the_panel_shows_who_supervises_in_which_mode(
    app: Flask, users: Users, manager: Session, on_call: str
) -> None:
    """After Claire whispers, the panel says so and offers her the other modes and Leave;
    another manager sees who is listening but gets no buttons (one supervisor per call)."""
    joined = manager.post_json("/incall/supervise", {"counsellor": "amina", "mode": "whisper"})
    assert joined.status_code == 200, joined.get_data(as_text=True)
    row = _snapshot_row(manager, "amina")
    assert row["supervision"] == {
        "login": "claire",
        "mode": "whisper",
        "mode_label": "chuchote à l'écoutant",
    }
    html = manager.client.get("/dashboard/").get_data(as_text=True)
    assert "claire chuchote à l&#39;écoutant" in html
    assert sorted(Buttons(html).found) == [
        ("amina", "barge", "false"),
        ("amina", "leave", None),
        ("amina", "listen", "false"),
        ("amina", "whisper", "true"),
    ]
    users.add("denise", Role.MANAGER, PASSWORD)
    other = open_session(app, "denise")
    html = other.client.get("/dashboard/").get_data(as_text=True)
    assert "claire chuchote à l&#39;écoutant" in html
    assert Buttons(html).found == []

    assert manager.post_json("/incall/supervise/leave", {"counsellor": "amina"}).status_code == 200
    assert _snapshot_row(manager, "amina")["supervision"] is None


def test_the_audit_page_filters_the_in_call_actions(manager: Session, on_call: str) -> None:
    """The live panel links to the journal of in-call actions, which lists supervision and
    leaves out the other actions."""
    manager.post_json("/incall/supervise", {"counsellor": "amina", "mode": "listen"})
    manager.client.post(
        "/dashboard/announcement",
        data={"text": "Forte affluence", "minutes": "15", "csrf_token": manager.csrf},
    )
    index = manager.client.get("/dashboard/").get_data(as_text=True)
    assert 'href="/dashboard/audit?only=incall"' in index
    assert 'href="/incall/blocklist"' in index
    everything = manager.client.get("/dashboard/audit").get_data(as_text=True)
    assert "Annonce aux appelants" in everything and "Écoute d&#39;un appel (début)" in everything
    only = manager.client.get("/dashboard/audit?only=incall").get_data(as_text=True)
    assert "Écoute d&#39;un appel (début)" in only
    assert "Annonce aux appelants" not in only


def test_supervision_is_shown_only_for_a_counsellor_on_a_call() -> None:
    """A supervision left over for a counsellor now in wrap-up is not shown, nor are buttons."""
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    def person(cid: str, state: CounsellorState) -> Counsellor:
        return Counsellor(cid, cid.title(), ("psychologist",), ("fr",), f"client:{cid}", state, now)

    watched = {"login": "claire", "mode": "barge"}
    panel = build_now(
        now,
        ZoneInfo("Europe/Paris"),
        [],
        [person("amina", CounsellorState.ON_CALL), person("bruno", CounsellorState.WRAP_UP)],
        {},
        Status(open=True, next_change=None),
        None,
        120,
        supervision={"amina": watched, "bruno": watched},
    )
    rows = {c["id"]: c for c in panel["counsellors"]}
    assert rows["amina"]["on_call"] is True
    assert rows["amina"]["supervision"] == {**watched, "mode_label": "intervient"}
    assert rows["bruno"]["on_call"] is False and rows["bruno"]["supervision"] is None
    assert panel["supervise_labels"]["listen"] == "Écouter"
