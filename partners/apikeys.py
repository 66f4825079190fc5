"""Partner API keys: shown once, stored only as a SHA-256, several per platform, revocable.

A key reads ``hlk_<id>_<secret>``: ``<id>`` (12 hex digits) names it in logs, lists and
revocations; ``<secret>`` is 256 random bits. Redis keeps, under ``keys.partner_key(id)``, the
platform, the SHA-256 of the whole key, a label and the times (created, expires, revoked, last
used). A plain SHA-256 is enough for 256 random bits (nothing to guess), and unlike an HMAC with
SECRET_KEY it does not lock every partner out when SECRET_KEY is rotated.

A platform rotates by adding a new key, deploying it, then revoking the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import cast

from helpline.clock import from_ms, to_ms
from helpline.runtime import Runtime
from partners.registry import is_partner_platform
from partners.scripts import script

KEY_PREFIX = "hlk"
_KEY = re.compile(rf"{KEY_PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})")
_KEY_ID = re.compile(r"[0-9a-f]{12}")
_LABEL = re.compile(r"[\w .:@/+-]{0,64}")
_DUMMY = hashlib.sha256(b"no such key").hexdigest()


class ApiKeyError(Exception):
    """A key cannot be issued or revoked; the message says why (shown by the CLI)."""


class KeyState(StrEnum):
    """What a stored key is worth now."""

    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class AuthResult(StrEnum):
    """The outcome of checking a presented key."""

    OK = "ok"
    MISSING = "missing"  # no credentials at all
    INVALID = "invalid"  # malformed, unknown, or the secret does not match
    EXPIRED = "expired"
    REVOKED = "revoked"
    FORBIDDEN = "forbidden"  # a genuine key of a platform no longer in the registry


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never the secret)."""

    id: str
    platform: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def state(self, now: datetime) -> KeyState:
        """Active, expired or revoked at ``now``."""
        if self.revoked_at is not None:
            return KeyState.REVOKED
        if self.expires_at is not None and now >= self.expires_at:
            return KeyState.EXPIRED
        return KeyState.ACTIVE


@dataclass(frozen=True)
class IssuedKey:
    """A new key: ``secret`` is the whole key text, to show once and never again."""

    key: ApiKey
    secret: str


@dataclass(frozen=True)
class Auth:
    """The result of `authenticate`; ``key`` is set once the secret matched."""

    result: AuthResult
    key: ApiKey | None = None


def digest(key_text: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key_text.encode()).hexdigest()


def parse(key_text: str) -> str | None:
    """The id of a well-formed key text, else None."""
    match = _KEY.fullmatch(key_text.strip())
    return match.group(1) if match else None


def _time(raw: str | None) -> datetime | None:
    return from_ms(raw) if raw else None


def _load(runtime: Runtime, key_id: str) -> tuple[ApiKey, str] | None:
    data = cast(dict[str, str], runtime.redis.hgetall(runtime.keys.partner_key(key_id)))
    if not data.get("platform"):
        return None
    key = ApiKey(
        id=key_id,
        platform=data["platform"],
        label=data.get("label", ""),
        created_at=from_ms(data.get("created_at", "0")),
        expires_at=_time(data.get("expires_at")),
        revoked_at=_time(data.get("revoked_at")),
        last_used_at=_time(data.get("last_used_at")),
    )
    return key, data.get("hash", "")


def issue(
    runtime: Runtime, platform: str, label: str = "", lifetime_days: int | None = None
) -> IssuedKey:
    """Create a key for ``platform``; ``lifetime_days`` None: the configured default, 0: none."""
    if not is_partner_platform(runtime.config, platform):
        raise ApiKeyError(
            f"{platform!r} is not a partner platform: use one of [platforms] known "
            "(not phone), e.g. `helpline platforms list`"
        )
    label = label.strip()
    if not _LABEL.fullmatch(label):
        raise ApiKeyError("a label has at most 64 letters, digits, spaces or . _ : @ / + -")
    days = runtime.config.partners.key_lifetime_days if lifetime_days is None else lifetime_days
    if not 0 <= days <= 3650:
        raise ApiKeyError("a key lives 0 (no expiry) to 3650 days")
    now = runtime.clock.now()
    for _ in range(5):
        key_id = secrets.token_hex(6)
        text = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        if parse(text) is None:  # pragma: no cover - token_urlsafe(32) is always 43 characters
            continue
        fields: list[str] = ["platform", platform, "hash", digest(text), "label", label]
        fields += ["created_at", str(to_ms(now))]
        if days:
            fields += ["expires_at", str(to_ms(now + timedelta(days=days)))]
        stored = script(runtime.redis, "key_create")(
            keys=[runtime.keys.partner_key(key_id), runtime.keys.partner_keys],
            args=[key_id, *fields],
        )
        if int(stored):
            loaded = _load(runtime, key_id)
            assert loaded is not None
            return IssuedKey(key=loaded[0], secret=text)
    raise ApiKeyError("could not draw a free key id; try again")  # pragma: no cover


def get(runtime: Runtime, key_id: str) -> ApiKey | None:
    """The key with this id, or None."""
    if not _KEY_ID.fullmatch(key_id):
        return None
    loaded = _load(runtime, key_id)
    return loaded[0] if loaded else None


def list_keys(runtime: Runtime, platform: str | None = None) -> list[ApiKey]:
    """Every key (of ``platform``), oldest first."""
    ids = sorted(cast(set[str], runtime.redis.smembers(runtime.keys.partner_keys)))
    found = [k for k in (get(runtime, i) for i in ids) if k is not None]
    if platform is not None:
        found = [k for k in found if k.platform == platform]
    return sorted(found, key=lambda k: (k.created_at, k.id))


def revoke(runtime: Runtime, key_id: str) -> bool:
    """Revoke a key; False when it was already revoked. Raises ApiKeyError for no such key."""
    if not _KEY_ID.fullmatch(key_id):
        raise ApiKeyError("a key id is 12 hex digits (the part after hlk_)")
    done = int(
        script(runtime.redis, "key_revoke")(
            keys=[runtime.keys.partner_key(key_id)], args=[to_ms(runtime.clock.now())]
        )
    )
    if done < 0:
        raise ApiKeyError(f"no key {key_id!r}")
    return done == 1


def authenticate(runtime: Runtime, key_text: str | None) -> Auth:
    """Check a presented key: the secret first, then revocation, expiry and the registry."""
    if not key_text:
        return Auth(AuthResult.MISSING)
    key_id = parse(key_text)
    loaded = _load(runtime, key_id) if key_id else None
    stored = loaded[1] if loaded else _DUMMY
    # Compare even when the id is unknown, so that timing does not tell which ids exist.
    matches = hmac.compare_digest(stored, digest(key_text.strip()))
    if loaded is None or not matches:
        return Auth(AuthResult.INVALID)
    key = loaded[0]
    now = runtime.clock.now()
    state = key.state(now)
    if state is KeyState.REVOKED:
        return Auth(AuthResult.REVOKED, key)
    if state is KeyState.EXPIRED:
        return Auth(AuthResult.EXPIRED, key)
    if not is_partner_platform(runtime.config, key.platform):
        return Auth(AuthResult.FORBIDDEN, key)
    runtime.redis.hset(runtime.keys.partner_key(key.id), "last_used_at", str(to_ms(now)))
    return Auth(AuthResult.OK, key)
