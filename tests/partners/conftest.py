"""Partner fixtures: the app with the partner blueprints, tokens configured, API keys."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest
from flask import Flask
from flask.testing import FlaskClient

from helpline.runtime import Runtime
from helpline.settings import DEFAULT_CONFIG, HelplineConfig, parse_config
from partners import apikeys

API_KEY_SID = "SK" + "a" * 32
API_KEY_SECRET = "test-api-key-secret-0123456789ab"  # 32, like Twilio's
TWIML_APP_SID = "AP" + "b" * 32


def configure_tokens(runtime: Runtime) -> None:
    """Fake but well-formed Twilio API key and TwiML App, as production would have."""
    runtime.settings = dataclasses.replace(
        runtime.settings,
        twilio_api_key_sid=API_KEY_SID,
        twilio_api_key_secret=API_KEY_SECRET,
        twilio_twiml_app_sid=TWIML_APP_SID,
    )


@pytest.fixture
def papp(app: Flask) -> Flask:
    """The web app with the partner API and the call page."""
    return app


@pytest.fixture
def api(papp: Flask) -> FlaskClient:
    """A client of the partner API (tokens not configured)."""
    return papp.test_client()


@pytest.fixture
def with_tokens(runtime: Runtime) -> Runtime:
    """Voice tokens configured (fake SK / AP values)."""
    configure_tokens(runtime)
    return runtime


@pytest.fixture
def instagram_key(runtime: Runtime) -> str:
    """A fresh API key of Instagram (the whole key text)."""
    return apikeys.issue(runtime, "instagram", label="tests").secret


def bearer(key: str) -> dict[str, str]:
    """The Authorization header for ``key``."""
    return {"Authorization": f"Bearer {key}"}


def config_with(**partners: object) -> HelplineConfig:
    """The packaged configuration with ``[partners]`` keys changed (e.g. limits)."""
    with DEFAULT_CONFIG.open("rb") as fh:
        data = tomllib.load(fh)
    data["partners"].update(partners)
    return parse_config(data)


def use_config(runtime: Runtime, config: HelplineConfig) -> None:
    """Swap the running configuration (the app reads ``runtime.config`` on every request)."""
    runtime.config = config
