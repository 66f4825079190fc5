"""Console fixtures: the app with the console registered, users, logged-in clients."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from acd.store import Acd
from console.users import Role, Users
from helpline.runtime import Runtime

PASSWORD = "correct horse battery"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def users(runtime: Runtime) -> Users:
    """Console users on the test Redis."""
    return Users(runtime)


@pytest.fixture
def acd(runtime: Runtime) -> Acd:
    """The ACD on the test Redis and clock."""
    return Acd(runtime)


def csrf_from(html: str) -> str:
    """The CSRF token a page's forms carry."""
    match = CSRF_INPUT.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def login(client: FlaskClient, login_name: str, password: str = PASSWORD, **extra: str):
    """Log in through the form, as a browser would (GET the form, POST it with its token)."""
    page = client.get("/console/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/console/login",
        data={"login": login_name, "password": password, "csrf_token": token, **extra},
    )


@dataclass
class Session:
    """A logged-in browser: its client and the CSRF token of its session."""

    client: FlaskClient
    csrf: str

    def post_json(self, path: str, body: object, token: str | None = None):
        """POST JSON with the X-CSRF-Token header (``token`` overrides the session's)."""
        return self.client.post(
            path, json=body, headers={"X-CSRF-Token": self.csrf if token is None else token}
        )


def open_session(app: Flask, login_name: str) -> Session:
    """A new client logged in as ``login_name``."""
    client = app.test_client()
    response = login(client, login_name)
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get("/console/")
    return Session(client, csrf_from(page.get_data(as_text=True)))


@pytest.fixture
def amina(acd: Acd) -> str:
    """A browser counsellor in the ACD (offline)."""
    acd.add_counsellor("amina", "Amina B.", ["psychologist"], ["fr"], "client:amina")
    return "amina"


@pytest.fixture
def counsellor(app: Flask, users: Users, amina: str) -> Session:
    """Amina, logged in to her console."""
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    return open_session(app, "amina")


@pytest.fixture
def manager(app: Flask, users: Users) -> Session:
    """A duty manager, logged in."""
    users.add("claire", Role.MANAGER, PASSWORD)
    return open_session(app, "claire")
