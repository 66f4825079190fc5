"""Warm transfer in a real browser: the counsellor on a call asks for a lawyer, sees that
nobody is free yet, and keeps the caller ("stay with me")."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_incall_ui import counsellor_on_a_call, server  # noqa: F401 - fixture
from tests.incall.test_transfer_views import ConferencesHttp


@pytest.fixture
def twilio_http() -> ConferencesHttp:
    """The fake Twilio transport, with Conferences and their Participants."""
    return ConferencesHttp()


def test_counsellor_asks_for_a_lawyer_then_stays_with_the_caller(
    server: Any,  # noqa: F811 - the fixture imported above
    page: Any,
    twilio_http: ConferencesHttp,
) -> None:
    """Skill button → "waiting for a colleague" with the stay button; stay → canceled."""
    counsellor_on_a_call(server, page)
    box = page.locator("#transfer")
    expect(box).to_be_visible()
    box.locator('[data-transfer-skill="lawyer"]').click()
    status = page.locator("#transfer-status")
    expect(status).to_contain_text("En attente d'un·e collègue Juriste")
    expect(box.locator('[data-transfer-skill="lawyer"]')).to_be_disabled()
    page.locator("#transfer-cancel").click()
    expect(status).to_contain_text("l'appelant reste avec vous")
    expect(page.locator("#transfer-cancel")).to_be_hidden()
    expect(box.locator('[data-transfer-skill="digital"]')).to_be_enabled()
