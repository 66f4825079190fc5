"""The console in a real browser."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from acd.model import CounsellorState
from acd.store import Acd
from console.users import Role, Users


def test_counsellor_logs_in_and_makes_themselves_available(live_server, page) -> None:
    """Through the login form and the state button, a counsellor becomes available in the ACD."""
    acd = Acd(live_server.runtime)
    acd.add_counsellor("amina", "Amina", ["psychologist"], ["fr"], "client:amina")
    Users(live_server.runtime).add("amina", Role.COUNSELLOR, "correct horse battery")
    page.goto(live_server.url + "/console")
    page.fill("input[name=login]", "amina")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    assert "Hors ligne" in page.inner_text("body")
    page.get_by_role("button", name="Je suis disponible").click()
    expect(page.locator("body")).to_contain_text("Disponible")
    counsellor = acd.get_counsellor("amina")
    assert counsellor is not None and counsellor.state == CounsellorState.AVAILABLE


# A stand-in for the Twilio Voice JS SDK: registers at once; `window.__ring()` delivers the
# incoming offer leg; the call records the digits it is asked to send.
FAKE_SDK = """
window.__digits = [];
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
    var call = {
      status: function () { return status; },
      on: function (name, fn) { on[name] = fn; },
      once: function (name, fn) { on[name] = fn; },
      accept: function () { status = "open"; if (on.accept) { on.accept(); } },
      reject: function () { status = "closed"; },
      disconnect: function () { status = "closed"; },
      sendDigits: function (digits) { window.__digits.push(digits); }
    };
    handlers.incoming(call);
  };
} };
"""


def test_counsellor_accepts_an_offer_from_the_browser(
    live_server, page, tmp_path, monkeypatch
) -> None:
    """Offered a caller, a browser counsellor clicks Accept: the softphone answers the offer
    leg and presses 1, which is what the offer's TwiML waits for."""
    from acd.jobs import request_dispatch
    from console import views
    from tests.acd.conftest import caller
    from tests.partners.conftest import configure_tokens

    configure_tokens(live_server.runtime)  # the softphone can get a token
    installed = tmp_path / "twilio.min.js"
    installed.write_text("/* served by the test route */")
    monkeypatch.setattr(views, "VOICE_SDK", installed)
    page.route(
        "**/console/static/vendor/twilio.min.js",
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=FAKE_SDK),
    )
    acd = Acd(live_server.runtime)
    acd.add_counsellor("amina", "Amina", ["psychologist"], ["fr"], "client:amina")
    Users(live_server.runtime).add("amina", Role.COUNSELLOR, "correct horse battery")
    page.goto(live_server.url + "/console")
    page.fill("input[name=login]", "amina")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    page.get_by_role("button", name="Je suis disponible").click()
    expect(page.locator("body")).to_contain_text("Disponible")

    clock = live_server.runtime.clock
    assert acd.enqueue(caller("CA" + "1" * 32, clock.now(), platform="tiktok")).queued
    request_dispatch(live_server.runtime)  # the ACD offers the caller to amina
    assert acd.get_counsellor("amina").state == CounsellorState.RESERVED
    expect(page.locator("body")).to_contain_text("Un appel vous est proposé")
    assert "TikTok" in page.inner_text("body")
    page.evaluate("window.__ring()")  # Twilio rings the softphone with the offer leg
    accept = page.get_by_role("button", name="Accepter l'appel")
    expect(accept).to_be_enabled()
    accept.click()
    deadline = time.monotonic() + 5  # the console waits 1.5 s for the offer's <Gather>
    while not page.evaluate("window.__digits.length") and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert page.evaluate("window.__digits") == ["1"]
