"""Console users: counsellors and duty managers, their roles and password hashes, in Redis.

One hash per login (``keys.console_user``) holds the role, a werkzeug password hash (scrypt;
the password itself is never stored), the counsellor id a counsellor acts for, the creation
time, a ``disabled`` flag and a session ``epoch``: disabling a user or changing a password bumps
the epoch, which ends every session opened before. Creation and changes are atomic (Lua).
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import cast

import redis as redis_lib
from redis.commands.core import Script
from werkzeug.security import check_password_hash, generate_password_hash

from helpline.clock import from_ms, to_ms
from helpline.runtime import Runtime

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # scrypt of a megabyte "password" is a denial of service
LOGIN_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
COUNSELLOR_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # as the ACD accepts
LOGIN_RULE = "a login has 2 to 64 characters: lower-case letters, digits, '.', '_' or '-'"
LUA = Path(__file__).with_name("lua")

# Checked when the login is unknown, so that a wrong login costs the same time as a wrong
# password and response times do not tell which logins exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password-for-timing")


class Role(StrEnum):
    """What a console user may do."""

    MANAGER = "manager"
    COUNSELLOR = "counsellor"


class UserError(Exception):
    """A user cannot be created or changed; the message says why (shown by the CLI)."""


@dataclass(frozen=True)
class User:
    """A console user as stored (the password hash is kept out of repr)."""

    login: str
    role: Role
    counsellor_id: str | None
    created_at: datetime
    disabled: bool
    epoch: int
    password_hash: str = field(repr=False)


def normalise_login(login: str) -> str:
    """Logins are case-insensitive: compare and store them in lower case, trimmed."""
    return login.strip().lower()


def valid_login(login: str) -> bool:
    """2-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit."""
    return LOGIN_RE.fullmatch(login) is not None


def check_password_strength(password: str) -> None:
    """Refuse passwords too short (or absurdly long) with a message for the operator."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")


_scripts: weakref.WeakKeyDictionary[redis_lib.Redis, dict[str, Script]] = (
    weakref.WeakKeyDictionary()
)


def script(client: redis_lib.Redis, name: str) -> Script:
    """The Lua script ``console/lua/<name>.lua``, registered once per Redis client."""
    per_client = _scripts.setdefault(client, {})
    if name not in per_client:
        per_client[name] = client.register_script((LUA / f"{name}.lua").read_text())
    return per_client[name]


class Users:
    """Console users of one helpline."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.redis = runtime.redis
        self.keys = runtime.keys

    def add(
        self, login: str, role: Role | str, password: str, counsellor_id: str | None = None
    ) -> User:
        """Create a user; a counsellor acts for ``counsellor_id`` (default: the login)."""
        login = normalise_login(login)
        if not valid_login(login):
            raise UserError(LOGIN_RULE)
        try:
            role = Role(role)
        except ValueError as exc:
            raise UserError(f"the role must be one of {', '.join(Role)}") from exc
        if role is Role.MANAGER and counsellor_id:
            raise UserError("a counsellor id is for counsellors only")
        if role is Role.COUNSELLOR:
            counsellor_id = (counsellor_id or login).strip()
            if not COUNSELLOR_ID_RE.fullmatch(counsellor_id):
                raise UserError("a counsellor id has letters, digits, '.', '_' or '-' (64 at most)")
        check_password_strength(password)
        now = to_ms(self.runtime.clock.now())
        created = script(self.redis, "user_create")(
            keys=[self.keys.console_user(login), self.keys.console_users],
            args=[login, role.value, generate_password_hash(password), counsellor_id or "", now],
        )
        if not created:
            raise UserError(f"the login {login!r} already exists")
        user = self.get(login)
        assert user is not None
        return user

    def get(self, login: str) -> User | None:
        """The user with this login, or None."""
        login = normalise_login(login)
        if not valid_login(login):
            return None
        data = cast(dict[str, str], self.redis.hgetall(self.keys.console_user(login)))
        if not data:
            return None
        return User(
            login=login,
            role=Role(data["role"]),
            counsellor_id=data.get("counsellor_id") or None,
            created_at=from_ms(data.get("created_at", "0")),
            disabled=data.get("disabled") == "1",
            epoch=int(data.get("epoch", "0")),
            password_hash=data["password"],
        )

    def list(self) -> list[User]:
        """Every user, by login."""
        logins = cast(set[str], self.redis.smembers(self.keys.console_users))
        users = (self.get(login) for login in sorted(logins))
        return [u for u in users if u is not None]

    def _update(self, login: str, end_sessions: bool, **fields: str) -> bool:
        flat = [item for pair in fields.items() for item in pair]
        done = script(self.redis, "user_update")(
            keys=[self.keys.console_user(normalise_login(login))],
            args=["1" if end_sessions else "0", *flat],
        )
        return bool(done)

    def disable(self, login: str) -> bool:
        """Stop ``login`` from logging in and end its open sessions; False if unknown."""
        return self._update(login, end_sessions=True, disabled="1")

    def enable(self, login: str) -> bool:
        """Let a disabled user log in again; False if unknown."""
        return self._update(login, end_sessions=False, disabled="0")

    def set_password(self, login: str, password: str) -> bool:
        """Replace the password and end the user's open sessions; False if unknown."""
        check_password_strength(password)
        return self._update(login, end_sessions=True, password=generate_password_hash(password))

    def authenticate(self, login: str, password: str) -> User | None:
        """The user when the login exists, is enabled and the password matches; else None."""
        user = self.get(login)
        if user is None or len(password) > MAX_PASSWORD_LENGTH:
            check_password_hash(_DUMMY_HASH, password[:MAX_PASSWORD_LENGTH])
            return None
        if not check_password_hash(user.password_hash, password) or user.disabled:
            return None
        return user
