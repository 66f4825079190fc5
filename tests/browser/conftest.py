"""Browser fixtures: the app served on a real socket, and Debian's chromium driven by Playwright.

Every test here is marked ``browser``. Chromium comes from Debian (``scripts/ensure-chromium``,
run by ``make test``); Playwright never downloads a browser of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis as redis_lib
from flask import Flask
from twilio.rest import Client
from werkzeug.serving import make_server

from helpline.app import create_app
from helpline.clock import FrozenClock
from helpline.processes import free_port
from helpline.runtime import Runtime, set_runtime
from helpline.settings import HelplineConfig, Settings
from tests.conftest import AUTH_TOKEN, SECRET_KEY
from tests.twilio_fake import ACCOUNT, FakeTwilioHttp

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this folder as a browser test."""
    for item in items:
        if "tests/browser" in str(item.path):
            item.add_marker(pytest.mark.browser)


@dataclass
class LiveServer:
    """The app on http://127.0.0.1:<port>, sharing the test's runtime."""

    url: str
    app: Flask
    runtime: Runtime


@pytest.fixture
def live_server(
    tmp_path: Path,
    config: HelplineConfig,
    redis: redis_lib.Redis,
    clock: FrozenClock,
    twilio_http: FakeTwilioHttp,
) -> Iterator[LiveServer]:
    """A threaded werkzeug server; PUBLIC_BASE_URL is its own URL (plain http, test mode)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings.from_env(
        {
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "SECRET_KEY": SECRET_KEY,
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "PUBLIC_BASE_URL": url,
            "HELPLINE_DATA_DIR": str(tmp_path / "var"),
        },
        mode="test",
    )
    runtime = Runtime(
        settings=settings,
        config=config,
        redis=redis,
        clock=clock,
        twilio_override=Client(ACCOUNT, AUTH_TOKEN, http_client=twilio_http),
        rq_is_async=False,
    )
    app = create_app({"RUNTIME": runtime, "TESTING": True})
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(url, app, runtime)
    server.shutdown()
    thread.join(5)
    set_runtime(None)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Debian chromium for the session."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run scripts/ensure-chromium (make test does)")
    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh browser context and page for each test (no shared cookies)."""
    context = browser.new_context()  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
