"""The platform registry (config), API keys (hashed, several, revocable, expiring), the CLI."""

from __future__ import annotations

import hashlib
import tomllib
from typing import Any

import pytest
from click.testing import CliRunner

from helpline.clock import FrozenClock
from helpline.keys import Keys
from helpline.runtime import Runtime
from helpline.settings import DEFAULT_CONFIG, ConfigError, parse_config
from partners import apikeys
from partners.apikeys import ApiKeyError, AuthResult, KeyState
from partners.cli import platforms
from partners.registry import display_name, is_partner_platform, partner_platforms


def test_partner_key_names_are_pinned_and_share_the_helpline_hash_tag() -> None:
    """Partner keys live in keys.py under the {3018} hash tag."""
    k = Keys("3018")
    assert k.partner_keys == "hl:{3018}:partners:keys"
    assert k.partner_key("0123456789ab") == "hl:{3018}:partners:key:0123456789ab"
    assert k.partner_rate("tokens:tiktok") == "hl:{3018}:partners:rate:tokens:tiktok"
    assert k.partner_active("tiktok") == "hl:{3018}:partners:active:tiktok"
    assert k.partner_tag_mismatches == "hl:{3018}:partners:tag_mismatches"
    assert k.partner_refused == "hl:{3018}:partners:refused"


# --- the registry --------------------------------------------------------------------------------


def _default_doc() -> dict[str, Any]:
    with DEFAULT_CONFIG.open("rb") as fh:
        return tomllib.load(fh)


def test_default_registry_names_every_platform_but_phone(runtime: Runtime) -> None:
    """Every known tag but phone is a partner platform with a display name."""
    config = runtime.config
    tags = [p.id for p in partner_platforms(config)]
    assert "phone" not in tags and {"instagram", "tiktok", "messenger", "facebook"} <= set(tags)
    assert display_name(config, "tiktok") == "TikTok"
    assert display_name(config, "unknown") == "unknown"
    assert not is_partner_platform(config, "phone")
    assert not is_partner_platform(config, "unknown")
    assert config.partners.token_ttl <= 600


def test_a_platform_table_overrides_limits_and_feeds_the_acd_priority() -> None:
    """Per-platform limits override the defaults; the priority reaches [acd.priority]."""
    doc = _default_doc()
    doc["partners"]["max_concurrent_calls"] = 12
    doc["partners"]["platforms"]["tiktok"].update(priority=30, tokens_per_minute=5)
    config = parse_config(doc)
    tiktok = config.partners.platform("tiktok")
    assert tiktok.priority == 30 and tiktok.limits.tokens_per_minute == 5
    assert tiktok.limits.max_concurrent_calls == 12  # the default, changed above
    assert config.partners.platform("instagram").limits.tokens_per_minute == 300
    assert config.acd.priority_for("tiktok", "unknown") == 30
    assert config.acd.priority_for("instagram", "young") == 60  # untouched


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"partners": {"bogus": 1}}, "unknown keys"),
        ({"partners": {"token_ttl": 3600}}, "token_ttl"),
        ({"partners": {"token_ttl": 30}}, "token_ttl"),
        ({"partners": {"tokens_per_minute": -1}}, "tokens_per_minute"),
        ({"partners": {"tokens_per_minute": "10"}}, "tokens_per_minute"),
        ({"partners": {"calls_per_token": True}}, "calls_per_token"),
        ({"partners": {"platforms": {"myspace": {"name": "MySpace"}}}}, "not a platform"),
        ({"partners": {"platforms": {"phone": {"name": "Phone"}}}}, "not a platform"),
        ({"partners": {"platforms": {"tiktok": {"colour": "pink"}}}}, "unknown keys"),
        ({"partners": {"platforms": {"tiktok": {"name": ""}}}}, "name"),
        ({"partners": {"platforms": {"tiktok": "TikTok"}}}, "must be a table"),
        ({"partners": {"platforms": {"tiktok": {"priority": -5}}}}, "priority"),
        ({"partners": []}, "must be a table"),
    ],
)
def test_partners_section_is_parsed_strictly(change: dict[str, Any], message: str) -> None:
    """Unknown keys, wrong types and unknown platforms stop the start with a clear message."""
    doc = {"platforms": {"known": ["phone", "instagram", "tiktok"]}, **change}
    with pytest.raises(ConfigError, match=message):
        parse_config(doc)


def test_a_priority_set_in_two_places_must_agree() -> None:
    """[partners.platforms.x] priority and [acd.priority] platform.x cannot contradict."""
    doc = {
        "platforms": {"known": ["phone", "tiktok"]},
        "acd": {"priority": {"platform": {"tiktok": 10}}},
        "partners": {"platforms": {"tiktok": {"priority": 20}}},
    }
    with pytest.raises(ConfigError, match="one place"):
        parse_config(doc)
    doc["partners"]["platforms"]["tiktok"]["priority"] = 10
    assert parse_config(doc).partners.platform("tiktok").priority == 10


def test_a_config_without_partners_still_loads() -> None:
    """Existing configuration files keep working: defaults for every platform."""
    config = parse_config({"platforms": {"known": ["phone", "tiktok"]}})
    assert config.partners.platform("tiktok").name == "Tiktok"
    assert config.partners.platform("tiktok").limits.max_concurrent_calls == 30


# --- keys ----------------------------------------------------------------------------------------


def test_a_key_is_stored_only_as_its_hash(runtime: Runtime) -> None:
    """The secret never reaches Redis; the SHA-256 of the whole key does."""
    issued = apikeys.issue(runtime, "instagram", label="prod")
    dump = {k: runtime.redis.hgetall(k) for k in runtime.redis.keys("*partners:key:*")}
    assert issued.secret not in repr(dump)
    secret_part = issued.secret.split("_", 2)[2]
    assert secret_part not in repr(dump)
    stored = dump[runtime.keys.partner_key(issued.key.id)]
    assert stored["hash"] == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert stored["platform"] == "instagram" and stored["label"] == "prod"
    assert issued.secret.startswith(f"hlk_{issued.key.id}_")
    assert issued.secret not in repr(issued.key)


def test_several_keys_per_platform_allow_rotation(runtime: Runtime) -> None:
    """A new key works alongside the old one; revoking the old one leaves the new one."""
    old = apikeys.issue(runtime, "tiktok")
    new = apikeys.issue(runtime, "tiktok")
    assert old.key.id != new.key.id
    assert apikeys.authenticate(runtime, old.secret).result is AuthResult.OK
    assert apikeys.authenticate(runtime, new.secret).result is AuthResult.OK
    assert apikeys.revoke(runtime, old.key.id) is True
    assert apikeys.revoke(runtime, old.key.id) is False  # already revoked
    assert apikeys.authenticate(runtime, old.secret).result is AuthResult.REVOKED
    assert apikeys.authenticate(runtime, new.secret).result is AuthResult.OK
    assert {k.id for k in apikeys.list_keys(runtime, "tiktok")} == {old.key.id, new.key.id}


def test_a_key_expires_on_the_injected_clock(runtime: Runtime, clock: FrozenClock) -> None:
    """A key issued for one day stops working a day later."""
    issued = apikeys.issue(runtime, "tiktok", lifetime_days=1)
    clock.advance(86_399)
    assert apikeys.authenticate(runtime, issued.secret).result is AuthResult.OK
    clock.advance(1)
    assert apikeys.authenticate(runtime, issued.secret).result is AuthResult.EXPIRED
    assert issued.key.state(clock.now()) is KeyState.EXPIRED
    forever = apikeys.issue(runtime, "tiktok", lifetime_days=0)
    clock.advance(10 * 365 * 86400)
    assert apikeys.authenticate(runtime, forever.secret).result is AuthResult.OK


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "hlk_",
        "not-a-key",
        "hlk_0123456789ab_" + "A" * 43,  # well formed, unknown id
        "hlk_0123456789AB_" + "A" * 43,
        "Bearer hlk_0123456789ab_" + "A" * 43,
    ],
)
def test_malformed_and_unknown_keys_are_invalid(runtime: Runtime, presented: str) -> None:
    """Nothing but a stored key with its exact secret authenticates."""
    expected = AuthResult.MISSING if not presented else AuthResult.INVALID
    assert apikeys.authenticate(runtime, presented).result is expected


def test_a_wrong_secret_for_a_real_id_is_invalid(runtime: Runtime) -> None:
    """Knowing a key id (it appears in lists and logs) is not enough."""
    issued = apikeys.issue(runtime, "tiktok")
    forged = f"hlk_{issued.key.id}_" + "B" * 43
    assert apikeys.authenticate(runtime, forged).result is AuthResult.INVALID


def test_keys_are_only_for_partner_platforms(runtime: Runtime) -> None:
    """No key for phone, unknown or a tag not in the registry; bad labels are refused."""
    for tag in ("phone", "unknown", "myspace", ""):
        with pytest.raises(ApiKeyError, match="not a partner platform"):
            apikeys.issue(runtime, tag)
    with pytest.raises(ApiKeyError, match="label"):
        apikeys.issue(runtime, "tiktok", label="<script>")
    with pytest.raises(ApiKeyError, match="days"):
        apikeys.issue(runtime, "tiktok", lifetime_days=-1)
    with pytest.raises(ApiKeyError, match="no key"):
        apikeys.revoke(runtime, "0123456789ab")
    with pytest.raises(ApiKeyError, match="12 hex"):
        apikeys.revoke(runtime, "../../etc")


def test_a_key_of_a_platform_removed_from_the_registry_is_forbidden(runtime: Runtime) -> None:
    """Genuine but no longer allowed: 403, not 401."""
    issued = apikeys.issue(runtime, "snapchat")
    runtime.config = parse_config({"platforms": {"known": ["phone", "tiktok"]}})
    assert apikeys.authenticate(runtime, issued.secret).result is AuthResult.FORBIDDEN


# --- the CLI -------------------------------------------------------------------------------------


def test_cli_adds_lists_and_revokes_keys(runtime: Runtime) -> None:
    """``helpline platforms keys add|list|revoke`` and ``platforms list``."""
    cli = CliRunner()
    added = cli.invoke(platforms, ["keys", "add", "tiktok", "--label", "prod eu"])
    assert added.exit_code == 0, added.output
    secret = added.stdout.strip()
    key_id = apikeys.parse(secret)
    assert key_id is not None and "cannot be shown again" in added.stderr
    assert apikeys.authenticate(runtime, secret).result is AuthResult.OK

    listed = cli.invoke(platforms, ["keys", "list"])
    assert listed.exit_code == 0 and key_id in listed.output and "active" in listed.output
    assert secret not in listed.output and secret.split("_", 2)[2] not in listed.output

    overview = cli.invoke(platforms, ["list"])
    assert overview.exit_code == 0
    line = next(x for x in overview.output.splitlines() if x.startswith("tiktok"))
    assert "TikTok" in line and "keys=1" in line
    assert not any(x.startswith("phone") for x in overview.output.splitlines())

    revoked = cli.invoke(platforms, ["keys", "revoke", key_id])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert "revoked" in cli.invoke(platforms, ["keys", "list", "--platform", "tiktok"]).output
    assert apikeys.authenticate(runtime, secret).result is AuthResult.REVOKED

    assert cli.invoke(platforms, ["keys", "revoke", "0123456789ab"]).exit_code != 0
    refused = cli.invoke(platforms, ["keys", "add", "phone"])
    assert refused.exit_code != 0 and "not a partner platform" in refused.output
