"""Console users: storage, password hashing, the ``helpline users`` commands, keys, settings."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from console.cli import users as users_cli
from console.users import Role, UserError, Users
from helpline.keys import Keys
from helpline.runtime import Runtime, set_runtime
from helpline.settings import ConfigError, Settings
from tests.console.conftest import PASSWORD


def test_console_key_names_are_pinned_and_share_the_helpline_hash_tag() -> None:
    """Console keys live in keys.py under the {3018} hash tag."""
    k = Keys("3018")
    assert k.console_users == "hl:{3018}:console:users"
    assert k.console_user("amina") == "hl:{3018}:console:user:amina"
    assert k.console_session("ab12") == "hl:{3018}:console:session:ab12"
    assert k.console_login_failures("amina") == "hl:{3018}:console:login_failures:amina"


def test_password_is_stored_only_as_a_salted_hash(users: Users, runtime: Runtime) -> None:
    """The raw password never reaches Redis; two users with one password get different hashes."""
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    users.add("basile", Role.COUNSELLOR, PASSWORD)
    dump = {k: runtime.redis.hgetall(k) for k in runtime.redis.keys("*console:user:*")}
    assert PASSWORD not in repr(dump)
    first = dump[runtime.keys.console_user("amina")]["password"]
    second = dump[runtime.keys.console_user("basile")]["password"]
    assert first.startswith(("scrypt:", "pbkdf2:")) and first != second
    assert users.authenticate("amina", PASSWORD) is not None
    assert users.authenticate("amina", PASSWORD + "x") is None
    assert PASSWORD not in repr(users.get("amina"))


def test_counsellor_acts_for_their_login_unless_told_otherwise(users: Users) -> None:
    """A counsellor's ACD id defaults to the login; managers have none."""
    assert users.add("Amina", Role.COUNSELLOR, PASSWORD).counsellor_id == "amina"
    assert users.add("bob", Role.COUNSELLOR, PASSWORD, counsellor_id="c-17").counsellor_id == "c-17"
    assert users.add("claire", Role.MANAGER, PASSWORD).counsellor_id is None
    with pytest.raises(UserError, match="counsellors only"):
        users.add("dan", Role.MANAGER, PASSWORD, counsellor_id="c-1")


@pytest.mark.parametrize(
    ("login", "password", "message"),
    [
        ("amina", "short", "at least 10"),
        ("a", PASSWORD, "login"),
        ("amina amina", PASSWORD, "login"),
        ("../etc", PASSWORD, "login"),
    ],
)
def test_bad_logins_and_short_passwords_are_refused(
    users: Users, login: str, password: str, message: str
) -> None:
    """Logins are simple names; passwords have at least 10 characters."""
    with pytest.raises(UserError, match=message):
        users.add(login, Role.COUNSELLOR, password)


def test_a_login_cannot_be_created_twice(users: Users) -> None:
    """Creation is atomic and refuses an existing login (case-insensitive)."""
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    with pytest.raises(UserError, match="already exists"):
        users.add("AMINA", Role.MANAGER, PASSWORD)
    assert users.get("amina").role is Role.COUNSELLOR


def test_disabled_user_cannot_authenticate(users: Users) -> None:
    """Disabling stops logins and bumps the session epoch; enabling lets the user back."""
    before = users.add("amina", Role.COUNSELLOR, PASSWORD)
    assert users.disable("amina")
    assert users.authenticate("amina", PASSWORD) is None
    assert users.get("amina").epoch == before.epoch + 1
    assert users.enable("amina") and users.authenticate("amina", PASSWORD) is not None
    assert not users.disable("nobody")


def _cli(runtime: Runtime, args: list[str], stdin: str | None = None):
    set_runtime(runtime)
    return CliRunner().invoke(users_cli, args, input=stdin)


def test_users_add_reads_the_password_from_stdin(runtime: Runtime, users: Users) -> None:
    """`users add --password-stdin` creates the login with a hashed password."""
    result = _cli(
        runtime,
        ["add", "amina", "--role", "counsellor", "--counsellor-id", "c-1", "--password-stdin"],
        PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "created amina (counsellor)" in result.output
    assert users.get("amina").counsellor_id == "c-1"
    assert users.authenticate("amina", PASSWORD) is not None


def test_users_add_prompts_twice_without_echo(runtime: Runtime, users: Users) -> None:
    """Without --password-stdin the password is typed twice and never echoed."""
    result = _cli(runtime, ["add", "claire", "--role", "manager"], f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert users.get("claire").role is Role.MANAGER


def test_users_add_refuses_mismatched_or_short_passwords(runtime: Runtime, users: Users) -> None:
    """A typo in the repeat asks again; under 10 characters is refused."""
    typo = _cli(
        runtime,
        ["add", "claire", "--role", "manager"],
        f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert typo.exit_code == 0 and "do not match" in typo.output.lower()
    short = _cli(runtime, ["add", "dan", "--role", "manager", "--password-stdin"], "tiny\n")
    assert short.exit_code != 0 and "at least 10" in short.output
    assert users.get("dan") is None


def test_users_list_shows_roles_and_status_but_never_hashes(runtime: Runtime, users: Users) -> None:
    """`users list` is a table of logins, roles, counsellor ids and status."""
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    users.add("claire", Role.MANAGER, PASSWORD)
    users.disable("claire")
    result = _cli(runtime, ["list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["login", "role", "counsellor", "created", "(UTC)", "status"]
    assert lines[1].split()[:3] == ["amina", "counsellor", "amina"]
    assert lines[2].split()[:3] == ["claire", "manager", "-"] and lines[2].endswith("disabled")
    assert "scrypt" not in result.output and "pbkdf2" not in result.output


def test_users_disable_and_passwd(runtime: Runtime, users: Users) -> None:
    """`users disable` stops a login; `users passwd` replaces the password."""
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    result = _cli(runtime, ["passwd", "amina", "--password-stdin"], "a brand new secret\n")
    assert result.exit_code == 0, result.output
    assert users.authenticate("amina", "a brand new secret") is not None
    assert users.authenticate("amina", PASSWORD) is None
    assert _cli(runtime, ["disable", "amina"]).exit_code == 0
    assert users.get("amina").disabled
    unknown = _cli(runtime, ["disable", "nobody"])
    assert unknown.exit_code != 0 and "no console user" in unknown.output


def test_softphone_settings_are_optional_but_strict() -> None:
    """TWILIO_API_KEY_SID/SECRET go together and must look like Twilio SIDs."""
    plain = Settings.from_env({}, mode="test")
    assert plain.twilio_api_key_sid is None and plain.twilio_twiml_app_sid is None
    full = Settings.from_env(
        {
            "TWILIO_API_KEY_SID": "SK" + "a" * 32,
            "TWILIO_API_KEY_SECRET": "s3cret",
            "TWILIO_TWIML_APP_SID": "AP" + "b" * 32,
        },
        mode="test",
    )
    assert full.twilio_api_key_sid == "SK" + "a" * 32
    assert full.twilio_twiml_app_sid == "AP" + "b" * 32
    with pytest.raises(ConfigError, match="go together"):
        Settings.from_env({"TWILIO_API_KEY_SID": "SK" + "a" * 32}, mode="test")
    with pytest.raises(ConfigError, match="SK followed"):
        Settings.from_env(
            {"TWILIO_API_KEY_SID": "AC123", "TWILIO_API_KEY_SECRET": "x"}, mode="test"
        )
    with pytest.raises(ConfigError, match="AP followed"):
        Settings.from_env({"TWILIO_TWIML_APP_SID": "nope"}, mode="test")


def test_users_add_refuses_a_taken_login_before_asking_for_a_password(
    runtime: Runtime, users: Users
) -> None:
    """An existing login is refused at once, without a password prompt."""
    users.add("amina", Role.COUNSELLOR, PASSWORD)
    result = _cli(runtime, ["add", "Amina", "--role", "manager"])
    assert result.exit_code != 0 and "already exists" in result.output
    assert "Password" not in result.output
    assert users.get("amina").role is Role.COUNSELLOR


def test_counsellor_id_must_be_one_the_acd_accepts(users: Users) -> None:
    """A counsellor id with spaces or slashes is refused."""
    for bad in ("two words", "a/b", "-x"):
        with pytest.raises(UserError, match="counsellor id"):
            users.add("amina", Role.COUNSELLOR, PASSWORD, counsellor_id=bad)
