"""The duty managers' dashboard in a real browser, on a live server sharing the test runtime."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from acd.model import CounsellorState, WaitingCaller
from acd.store import Acd
from console.users import Role, Users
from helpline.clock import FrozenClock
from tests.dashboard.test_access import RULES, SAMPLES

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def server(live_server):
    """The live server with the dashboard registered (before its first request); streams
    last 3 s, so the page reconnects during a test and no stream outlives it by much."""
    live_server.app.config["DASHBOARD_STREAM_SECONDS"] = 3
    return live_server


def log_in(server, page, login: str, role: Role) -> None:
    """Create the user and log in through the console's form."""
    Users(server.runtime).add(login, role, PASSWORD)
    page.goto(server.url + "/dashboard/")
    page.wait_for_url("**/console/login**")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)  # back where they asked to go


def open_dashboard(server, page) -> None:
    """A duty manager logs in and opens the live panel, connected to the stream."""
    log_in(server, page, "claire", Role.MANAGER)
    page.goto(server.url + "/dashboard/")
    expect(page.locator("#connection")).to_contain_text("en direct")
    page.evaluate("window.notReloaded = true")


def test_manager_watches_a_caller_arrive_and_leave(server, page, clock: FrozenClock) -> None:
    """The queue on the page follows the ACD live, without reloading."""
    acd = Acd(server.runtime)
    acd.add_counsellor("bruno", "Bruno", ["psychologist"], ["fr"], "client:bruno")
    acd.set_state("bruno", CounsellorState.BREAK, "pause")  # logged in: callers may queue
    open_dashboard(server, page)
    assert page.locator("#waiting tbody tr").count() == 0
    assert page.locator("#nobody-waiting").is_visible()

    sid = "CA" + "9" * 32
    acd.enqueue(WaitingCaller(sid, "instagram", "young", "fr", "psychologist", 0, clock.now()))
    row = page.locator("#waiting tbody tr")
    row.first.wait_for()
    assert "Instagram" in row.first.inner_text() and "Jeune" in row.first.inner_text()
    expect(page.locator("#count-waiting")).to_have_text("1")
    expect(page.locator("#nobody-waiting")).to_be_hidden()

    acd.caller_gone(sid)
    page.locator("#nobody-waiting").wait_for(state="visible")
    expect(row).to_have_count(0)
    expect(page.locator("#count-waiting")).to_have_text("0")
    assert page.evaluate("window.notReloaded") is True


def test_manager_changes_a_counsellors_state(server, page) -> None:
    """Bruno goes from break to available from the team table; the page follows."""
    acd = Acd(server.runtime)
    acd.add_counsellor("bruno", "Bruno", ["psychologist"], ["fr"], "client:bruno")
    acd.set_state("bruno", CounsellorState.BREAK, "pause")
    open_dashboard(server, page)
    team_row = page.locator("#team tr[data-id=bruno]")
    assert "En pause" in team_row.inner_text()
    page.select_option("#state-bruno", "available")
    assert page.locator("#reason-bruno").is_hidden()  # a reason only for a break
    team_row.get_by_role("button", name="Appliquer").click()
    expect(team_row.locator(".c-state")).to_contain_text("Disponible")
    expect(page.locator("#live-message")).to_contain_text("Bruno : Disponible.")
    bruno = acd.get_counsellor("bruno")
    assert bruno is not None and bruno.state is CounsellorState.AVAILABLE
    assert page.evaluate("window.notReloaded") is True


def test_manager_closes_the_line_for_the_evening(server, page, clock: FrozenClock) -> None:
    """At 19:00 a preview first, then the closure: callers hear that we reopen tomorrow."""
    clock.set(datetime(2026, 11, 23, 18, 0, tzinfo=UTC))  # 19:00 in Paris
    log_in(server, page, "claire", Role.MANAGER)
    page.goto(server.url + "/dashboard/hours")
    assert "L'accueil habituel" in page.inner_text("#heard-now")
    close = page.locator("form", has=page.locator("#close-until"))
    close.get_by_role("button", name="Prévisualiser").click()
    preview = page.locator("#preview")
    preview.wait_for()
    assert "Nous serons de nouveau là demain à 9 heures." in preview.inner_text()
    assert "L'accueil habituel" in page.inner_text("#heard-now")  # nothing changed yet
    with page.expect_navigation():  # the form posts, then the page comes back
        page.locator("form", has=page.locator("#close-until")).get_by_role(
            "button", name="Fermer la ligne"
        ).click()
    expect(page.locator("#heard-now")).to_contain_text("Le 30 18 est fermé pour le moment.")
    heard = page.inner_text("#heard-now")
    assert "Le 30 18 est fermé pour le moment." in heard
    assert "Nous serons de nouveau là demain à 9 heures." in heard
    assert "The 30 18 helpline is closed at the moment." in heard
    assert "Ligne fermée" in page.inner_text("body")


def _url(rule: str, arguments: tuple[str, ...]) -> str:
    path = rule
    for name in arguments:
        path = re.sub(rf"<(?:[a-z]+:)?{name}>", SAMPLES[name], path)
    return path


@pytest.mark.parametrize("who", ["anonymous", "counsellor"])
def test_every_dashboard_route_refuses_over_http(server, page, who: str) -> None:
    """Over real HTTP: no login → redirect (GET) or 401; a counsellor → 403, for every route."""
    if who == "counsellor":
        Acd(server.runtime).add_counsellor(
            "amina", "Amina", ["psychologist"], ["fr"], "client:amina"
        )
        log_in(server, page, "amina", Role.COUNSELLOR)
        token = CSRF.search(page.content())
        assert token is not None
        csrf = token.group(1)
    for _endpoint, rule, method, arguments in RULES:
        url = server.url + _url(rule, arguments)
        if method == "GET":
            response = page.request.get(url, max_redirects=0)
        else:
            form = {"csrf_token": csrf} if who == "counsellor" else {}
            response = page.request.fetch(url, method=method, form=form, max_redirects=0)
        if who == "counsellor":
            assert response.status == 403, (method, rule)
        elif method == "GET":
            assert response.status == 302, (method, rule)
            assert "/console/login" in response.headers["location"], rule
        else:
            assert response.status == 401, (method, rule)
