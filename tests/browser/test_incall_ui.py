"""In-call tools in a real browser: a counsellor brings in an emergency service; a duty manager
listens, whispers and leaves from the live panel while the counsellor sees it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from acd.store import Acd
from console import views
from console.users import Role, Users
from tests.browser.test_dashboard import PASSWORD, log_in
from tests.incall.conftest import ParticipantsHttp
from tests.incall.conftest import live_call as start_call
from tests.partners.conftest import configure_tokens

# A stand-in for the Twilio Voice JS SDK: registers at once; `window.__ring()` delivers an
# incoming leg (for a duty manager: the supervisor leg Twilio dials after a click).
FAKE_SDK = """
window.Twilio = { Device: function (token, options) {
  var handlers = {};
  this.on = function (name, fn) { handlers[name] = fn; };
  this.register = function () {
    setTimeout(function () { if (handlers.registered) handlers.registered(); }, 10);
    return Promise.resolve();
  };
  this.updateToken = function () {};
  window.__ring = function () {
    var on = {}, status = "pending";
    handlers.incoming({
      status: function () { return status; },
      on: function (name, fn) { on[name] = fn; },
      once: function (name, fn) { on[name] = fn; },
      accept: function () { status = "open"; if (on.accept) { on.accept(); } },
      reject: function () { status = "closed"; },
      disconnect: function () { status = "closed"; if (on.disconnect) { on.disconnect(); } }
    });
  };
} };
"""


@pytest.fixture
def twilio_http() -> ParticipantsHttp:
    """The fake Twilio transport, answering Conference Participants like Twilio."""
    return ParticipantsHttp()


@pytest.fixture
def server(live_server: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The live server with softphone tokens and the Voice SDK "installed"; short streams."""
    live_server.app.config["DASHBOARD_STREAM_SECONDS"] = 3
    configure_tokens(live_server.runtime)
    installed = tmp_path / "twilio.min.js"
    installed.write_text("/* served by the test route */")
    monkeypatch.setattr(views, "VOICE_SDK", installed)
    return live_server


def with_fake_sdk(page: Any) -> Any:
    """Requests for the Voice SDK get the stand-in."""
    page.route(
        "**/console/static/vendor/twilio.min.js",
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=FAKE_SDK),
    )
    return page


def counsellor_on_a_call(server: Any, page: Any) -> str:
    """Amina logs in to her console and is on a call: the reservation id."""
    acd = Acd(server.runtime)
    acd.add_counsellor("amina", "Amina B.", ["psychologist"], ["fr"], "client:amina")
    Users(server.runtime).add("amina", Role.COUNSELLOR, PASSWORD)
    rid = start_call(server.runtime, acd, server.runtime.clock)
    with_fake_sdk(page)
    page.goto(server.url + "/console")
    page.fill("input[name=login]", "amina")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    expect(page.locator("#incall")).to_be_visible()
    return rid


def test_counsellor_brings_in_child_protection_after_confirming(
    server: Any, page: Any, twilio_http: ParticipantsHttp
) -> None:
    """Press 119, confirm: the service is added to the call's conference and the page says so;
    a failed attempt shows the error and Retry dials again."""
    rid = counsellor_on_a_call(server, page)
    twilio_http.requests.clear()
    page.get_by_role("button", name="Enfance en danger · 119").click()
    confirm = page.locator("#incall-confirm")
    expect(confirm).to_contain_text("Appeler Enfance en danger (119)")
    assert twilio_http.participants() == []  # one press is not enough
    confirm.get_by_role("button", name="Oui, appeler le 119").click()
    results = page.locator("#incall-results")
    expect(results).to_contain_text("Enfance en danger (119) : appel passé")
    expect(confirm).to_be_hidden()
    create = twilio_http.participants()[0]
    assert create.path.endswith(f"/Conferences/res-{rid}/Participants.json")
    assert create.data["To"] == "119"

    twilio_http.fail_next.append(500)  # Twilio refuses the next request
    page.get_by_role("button", name="Police · 17").click()
    page.get_by_role("button", name="Oui, appeler le 17").click()
    expect(results).to_contain_text("Police (17) : échec.")
    page.get_by_role("button", name="Réessayer").click()
    expect(results).to_contain_text("Police (17) : appel passé")
    to_police = [r for r in twilio_http.participants() if r.data.get("To") == "17"]
    assert len(to_police) == 2  # the failed attempt and the retry


@pytest.fixture
def manager_page(browser: Any) -> Iterator[Any]:
    """A second browser (its own cookies) for the duty manager."""
    context = browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield with_fake_sdk(tab)
    context.close()


def test_manager_listens_whispers_and_leaves_while_the_counsellor_sees_it(
    server: Any, page: Any, manager_page: Any, twilio_http: ParticipantsHttp
) -> None:
    """Listen rings the manager's softphone (answered at once) and the counsellor reads that a
    supervisor listens; Whisper changes both pages; Leave clears them."""
    counsellor_on_a_call(server, page)
    presence = page.locator("#incall-presence")
    expect(presence).to_be_hidden()

    log_in(server, manager_page, "claire", Role.MANAGER)
    expect(manager_page.locator("#supervisor-phone-status")).to_contain_text("Softphone prêt")
    row = manager_page.locator("#team tr[data-id=amina]")
    cell = row.locator(".c-supervise")
    expect(cell).to_contain_text("Personne n'écoute")

    row.get_by_role("button", name="Écouter").click()
    expect(cell.locator(".c-supervision")).to_have_text("claire écoute")
    expect(row.get_by_role("button", name="Écouter")).to_have_attribute("aria-pressed", "true")
    create = twilio_http.participants()[-1]
    assert create.data["To"] == "client:manager-claire" and create.data["Muted"] == "true"
    manager_page.evaluate("window.__ring()")  # Twilio dials the manager's softphone
    expect(manager_page.locator("#supervisor-phone-status")).to_contain_text("En ligne")
    expect(presence).to_contain_text("écoute cet appel")

    row.get_by_role("button", name="Chuchoter").click()
    expect(cell.locator(".c-supervision")).to_have_text("claire chuchote à l'écoutant")
    expect(presence).to_contain_text("vous parle : vous seul·e l'entendez")

    row.get_by_role("button", name="Quitter").click()
    expect(cell).to_contain_text("Personne n'écoute")
    expect(row.get_by_role("button", name="Quitter")).to_have_count(0)
    expect(presence).to_be_hidden()
