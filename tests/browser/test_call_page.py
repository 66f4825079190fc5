"""The web call page in headless chromium: open and closed states, the button, the token."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest

from partners import callpage
from tests.partners.conftest import API_KEY_SECRET, configure_tokens

# A stand-in for the Twilio Voice JS SDK: records the token and the call's custom parameters,
# answers at once, hangs up when asked.
FAKE_SDK = """
window.Twilio = { Device: function (token, options) {
  window.__voice = { token: token, connects: [], options: options };
  this.on = function () {};
  this.updateToken = function (fresh) { window.__voice.token = fresh; };
  this.disconnectAll = function () {};
  this.connect = function (request) {
    window.__voice.connects.push(request);
    var handlers = {};
    var call = {
      on: function (name, fn) { handlers[name] = fn; },
      disconnect: function () { if (handlers.disconnect) handlers.disconnect(); }
    };
    setTimeout(function () { if (handlers.accept) handlers.accept(); }, 20);
    return Promise.resolve(call);
  };
} };
"""


@pytest.fixture
def call_server(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The live server with the call page, tokens configured and the Voice SDK "installed"."""
    configure_tokens(live_server.runtime)
    monkeypatch.setattr(callpage, "voice_sdk_installed", lambda: True)
    return live_server


@pytest.fixture
def sdk_page(page: Any) -> Any:
    """A page whose requests for the Voice SDK get the stand-in."""
    page.route(
        "**/console/static/vendor/twilio.min.js",
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=FAKE_SDK),
    )
    return page


def test_a_child_calls_from_the_page_with_the_platform_tag(call_server: Any, sdk_page: Any) -> None:
    """Open line: the button fetches a token for the page's tag and calls with tag and ref."""
    page = sdk_page
    seen_urls: list[str] = []
    token_requests: list[Any] = []
    page.on("request", lambda request: seen_urls.append(request.url))

    def watch_token(route: Any) -> None:
        token_requests.append(route.request)
        route.continue_()

    page.route("**/call/token", watch_token)
    page.goto(call_server.url + "/call?platform=TikTok#ref=TT-REPORT-42")
    assert "Le 3018 est ouvert maintenant." in page.inner_text("#hours")
    assert page.get_attribute("#tel-link", "href") == "tel:3018"
    button = page.get_by_role("button", name="Appeler le 3018 depuis cet appareil")
    assert button.is_visible()
    button.click()
    # Selectors, not wait_for_function: the page's CSP forbids the eval that polling needs.
    page.wait_for_selector("#call-status:has-text('en communication')")
    assert len(token_requests) == 1
    request = token_requests[0]
    assert request.method == "POST"
    assert json.loads(request.post_data or "{}") == {"platform": "tiktok"}
    csrf = page.get_attribute('meta[name="csrf-token"]', "content")
    assert request.headers["x-csrf-token"] == csrf
    voice = page.evaluate("window.__voice")
    claims = jwt.decode(voice["token"], API_KEY_SECRET, algorithms=["HS256"])
    assert claims["grants"]["identity"].startswith("p.tiktok.")
    assert voice["connects"] == [{"params": {"platform": "tiktok", "ref": "TT-REPORT-42"}}]
    # The reference stays in the fragment: no request to the server ever carried it.
    assert not any("TT-REPORT-42" in url for url in seen_urls)
    page.get_by_role("button", name="Raccrocher").click()
    page.wait_for_selector("#call-status:has-text('terminé')")
    assert page.get_by_role("button", name="Appeler le 3018 depuis cet appareil").is_visible()


def test_closed_line_shows_when_it_reopens_and_no_button(call_server: Any, sdk_page: Any) -> None:
    """23:30 in Paris: closed, reopens tomorrow at 09:00, the emergency numbers remain."""
    call_server.runtime.clock.set(datetime(2026, 11, 23, 22, 30, tzinfo=UTC))
    page = sdk_page
    page.goto(call_server.url + "/call?platform=tiktok")
    hours = page.inner_text("#hours")
    assert "fermé" in hours and "Il rouvre demain à 09:00." in hours
    assert page.locator("#call-button").count() == 0
    assert page.locator('a[href="tel:119"]').is_visible()


def test_hostile_tag_becomes_unknown_in_the_page_and_the_token(
    call_server: Any, sdk_page: Any
) -> None:
    """A script in the tag is neither run nor echoed; the call is tagged unknown."""
    page = sdk_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(call_server.url + '/call?platform="><script>alert(1)</script>')
    assert page.get_attribute("#call-page", "data-platform") == "unknown"
    with page.expect_request("**/call/token") as captured:
        page.get_by_role("button", name="Appeler le 3018 depuis cet appareil").click()
    assert json.loads(captured.value.post_data or "{}") == {"platform": "unknown"}
    page.wait_for_selector("#call-status:has-text('en communication')")
    assert page.evaluate("window.__voice.connects[0].params") == {"platform": "unknown"}
    assert dialogs == []


def test_english_toggle_keeps_the_tag_and_the_reference(call_server: Any, sdk_page: Any) -> None:
    """The toggle switches to English without losing the platform nor the fragment."""
    page = sdk_page
    page.goto(call_server.url + "/call?platform=tiktok#ref=TT-1")
    page.click("#lang-link")
    page.wait_for_url("**lang=en**")
    assert "3018 is open now." in page.inner_text("#hours")
    assert page.evaluate("window.location.hash") == "#ref=TT-1"
    assert page.get_attribute("#call-page", "data-platform") == "tiktok"
