"""Secrets come only from the environment, never show in a repr, and are compared in constant
time."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

from helpline.settings import DEFAULT_CONFIG, ConfigError, Settings, parse_config

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ("helpline", "ivr", "acd", "console", "dashboard", "incall", "partners", "staffing")


def _default() -> dict:
    with DEFAULT_CONFIG.open("rb") as fh:
        return tomllib.load(fh)


@pytest.mark.parametrize(
    ("table", "name"),
    [
        ("helpline", "secret_key"),
        ("helpline", "twilio_auth_token"),
        ("partners", "api_key_secret"),
        ("privacy", "SECRET"),
        ("prompts", "password"),
        ("twilio", "auth_token"),
    ],
)
def test_a_config_file_holding_a_secret_is_refused(table: str, name: str) -> None:
    """Wherever a secret is put in the TOML file, loading it fails and says why."""
    data = _default()
    data.setdefault(table, {})[name] = "s3cr3t-value"
    with pytest.raises(ConfigError, match="environment only") as raised:
        parse_config(data)
    assert "s3cr3t-value" not in str(raised.value)


def test_a_secret_nested_in_a_platform_table_is_refused() -> None:
    """Sub-tables are searched too."""
    data = _default()
    data["partners"]["platforms"]["tiktok"]["api_key"] = "hlk_x"
    with pytest.raises(ConfigError, match=r"partners\.platforms\.tiktok\.api_key"):
        parse_config(data)


def test_the_packaged_config_holds_no_secret() -> None:
    """The shipped file loads (none of its keys looks like a secret)."""
    assert parse_config(_default()).helpline.id


def test_production_refuses_to_start_without_its_secrets() -> None:
    """No SECRET_KEY or TWILIO_AUTH_TOKEN in production: a clear refusal, no built-in value."""
    base = {"PUBLIC_BASE_URL": "https://helpline.example"}
    for env in (
        base,
        {**base, "SECRET_KEY": "k" * 32},
        {**base, "TWILIO_AUTH_TOKEN": "t" * 32},
        {**base, "TWILIO_AUTH_TOKEN": "t" * 32, "SECRET_KEY": "short"},
    ):
        with pytest.raises(ConfigError, match="refusing to start"):
            Settings.from_env(env, mode="production")


def test_settings_never_show_their_secrets() -> None:
    """repr() (and so any log line holding the settings) leaves secrets and Redis URLs out."""
    secrets = ["auth-token-AAAA", "secret-key-BBBBBBBBBBBB", "key-secret-CCCC", "redis-pw-DDDD"]
    secrets.append("rq-redis-pw-EEEE")
    settings = Settings.from_env(
        {
            "TWILIO_AUTH_TOKEN": secrets[0],
            "SECRET_KEY": secrets[1],
            "TWILIO_API_KEY_SID": "SK" + "a" * 32,
            "TWILIO_API_KEY_SECRET": secrets[2],
            "REDIS_URL": f"redis://:{secrets[3]}@redis.internal:6379/0",
            "RQ_REDIS_URL": f"redis://:{secrets[4]}@rq.internal:6379/0",
            "PUBLIC_BASE_URL": "https://helpline.example",
        },
        mode="production",
    )
    shown = repr(settings) + str(settings)
    assert [s for s in secrets if s in shown] == []
    assert settings.secret_key == secrets[1]  # still there for the code that needs it


#: Comparisons the scan flags that compare no secret, each with the reason.
NOT_SECRETS = {
    "bool(sid) != bool(secret)": "both Twilio API key settings are set, or neither",
    "token(tag) == wanted": "ivr.platform.token normalises a platform tag",
}
SECRET_NAME = re.compile(r"token|secret|signature|digest|csrf|password|passwd|api_key|hmac", re.I)


def _names(node: ast.expr) -> list[str]:
    """Identifiers an operand is made of (variables, attributes, called functions)."""
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.append(sub.id)
        elif isinstance(sub, ast.Attribute):
            found.append(sub.attr)
    return found


def test_secrets_are_compared_in_constant_time() -> None:
    """No ``==``/``!=`` on anything named like a token, secret, signature, digest or CSRF
    value in the application: those go through hmac.compare_digest."""
    offenders = []
    for package in APP_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Compare):
                    continue
                if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                    continue
                operands = [node.left, *node.comparators]
                if any(isinstance(o, ast.Constant) and o.value in ("", None) for o in operands):
                    continue  # an emptiness test compares no secret
                names = [n for o in operands for n in _names(o)]
                if any(SECRET_NAME.search(n) for n in names) and (
                    ast.unparse(node) not in NOT_SECRETS
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert offenders == []


def test_the_constant_time_scan_would_see_a_plain_comparison() -> None:
    """The scan above is not blind: it flags ``sent == expected_token``."""
    tree = ast.parse("ok = sent == session.csrf_token")
    compare = next(n for n in ast.walk(tree) if isinstance(n, ast.Compare))
    assert any(SECRET_NAME.search(n) for n in _names(compare.comparators[0]))
