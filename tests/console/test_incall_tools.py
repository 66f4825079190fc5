"""The counsellor console's in-call tools: the emergency services' buttons (numbers from the
configuration), the supervisor presence line, only on the counsellor's own accepted call."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

import pytest

from acd.model import CounsellorState, WaitingCaller
from acd.store import Acd
from helpline.clock import FrozenClock
from helpline.privacy import pseudonymise
from helpline.runtime import Runtime
from helpline.settings import HelplineConfig, IncallSection, load_config
from tests.console.conftest import Session
from tests.incall.conftest import CALLER_NUMBER, CALLER_SID
from tests.incall.conftest import live_call as start_call

NUMBERS = {
    "police": "+33140000017",
    "emergency": "+33140000112",
    "child_protection": "+33140000119",
}


@pytest.fixture
def config() -> HelplineConfig:
    """The default configuration with the services at distinctive E.164 numbers."""
    return dataclasses.replace(load_config(None), incall=IncallSection(**NUMBERS))


class Elements(HTMLParser):
    """Start tags of a page, with their attributes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    def with_attr(self, name: str) -> list[dict[str, str | None]]:
        """Attributes of every element carrying ``name``."""
        return [attrs for _, attrs in self.found if name in attrs]

    def by_id(self, element_id: str) -> dict[str, str | None] | None:
        """Attributes of the element with that id."""
        return next((a for _, a in self.found if a.get("id") == element_id), None)


def _page(session: Session, path: str = "/console/") -> tuple[str, Elements]:
    response = session.client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return html, Elements(html)


def test_escalation_buttons_dial_only_configured_numbers_during_a_call(
    runtime: Runtime, acd: Acd, clock: FrozenClock, counsellor: Session
) -> None:
    """On an accepted call the counsellor sees 17/112/119's buttons labelled with the
    configuration's numbers, the presence line and the CSRF token; never the caller."""
    start_call(runtime, acd, clock)
    html, page = _page(counsellor)
    buttons = {a["data-incall-escalate"]: a for a in page.with_attr("data-incall-escalate")}
    assert set(buttons) == set(NUMBERS)
    for target, number in NUMBERS.items():
        assert buttons[target]["data-number"] == number
        assert f"· {number}</button>" in html
    area = page.by_id("incall")
    assert area is not None and "hidden" not in area  # shown: the call is accepted
    assert page.by_id("incall-presence") is not None
    assert page.by_id("incall-confirm") is not None
    meta = next(a for t, a in page.found if t == "meta" and a.get("name") == "csrf-token")
    assert meta["content"] == counsellor.csrf
    assert any("incall/static/incall.js" in (a.get("src") or "") for t, a in page.found)
    assert CALLER_NUMBER not in html and CALLER_SID not in html
    assert pseudonymise(runtime.settings.secret_key, CALLER_NUMBER) not in html
    # no phone number on the page but the services' own
    assert set(re.findall(r"\+\d{6,}", html)) == set(NUMBERS.values())


def test_in_call_tools_stay_hidden_until_the_call_is_accepted(
    runtime: Runtime, acd: Acd, clock: FrozenClock, counsellor: Session
) -> None:
    """Free or only offered a call, the counsellor's in-call area is hidden."""
    _, page = _page(counsellor)
    area = page.by_id("incall")
    assert area is not None and "hidden" in area
    acd.set_state("amina", CounsellorState.AVAILABLE)
    acd.enqueue(
        WaitingCaller(CALLER_SID, "instagram", "young", "fr", "psychologist", 0, clock.now())
    )
    assert acd.reserve_next() is not None  # offered, not accepted
    _, page = _page(counsellor)
    area = page.by_id("incall")
    assert area is not None and "hidden" in area


def test_a_manager_reading_a_console_gets_no_in_call_tools(
    runtime: Runtime, acd: Acd, clock: FrozenClock, counsellor: Session, manager: Session
) -> None:
    """A duty manager looking at a counsellor's call cannot escalate it from there."""
    start_call(runtime, acd, clock)
    html, page = _page(manager, "/console/?counsellor=amina")
    assert "Appel en cours" in html
    assert page.with_attr("data-incall-escalate") == []
    assert page.by_id("incall") is None and page.by_id("incall-presence") is None
    assert "incall.js" not in html
