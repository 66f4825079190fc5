"""The console in a real browser."""

from __future__ import annotations

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
    page.wait_for_function("document.body.innerText.includes('Disponible')")
    counsellor = acd.get_counsellor("amina")
    assert counsellor is not None and counsellor.state == CounsellorState.AVAILABLE
