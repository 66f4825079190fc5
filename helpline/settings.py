"""Settings from the environment and the helpline's TOML configuration, both parsed strictly."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_CONFIG = Path(__file__).with_name("default_config.toml")
TWILIO_API = "https://api.twilio.com"
MODES = ("production", "demo", "test")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class ConfigError(Exception):
    """The environment or the TOML file is not usable; the message says how to fix it."""


# --- the TOML file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HelplineSection:
    """Identity of the line."""

    id: str = "3018"
    name: str = "3018"
    time_zone: str = "Europe/Paris"
    numbers: tuple[str, ...] = ()
    caller_id: str = ""
    default_language: str = "fr"
    languages: tuple[str, ...] = ("fr", "en")
    website: str = "3018.fr"


@dataclass(frozen=True)
class HoursSection:
    """Weekly opening hours: day name → tuple of "HH:MM-HH:MM"."""

    weekly: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PlatformsSection:
    """Known platform tags and numbers dedicated to a platform."""

    known: tuple[str, ...] = ("phone",)
    numbers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MenusSection:
    """Optional menus, each switchable."""

    recording_consent: bool = True
    language: bool = True
    caller_type: bool = True


@dataclass(frozen=True)
class PromptsSection:
    """Voices and optional recorded audio."""

    fr_voice: str = "Polly.Lea"
    fr_language: str = "fr-FR"
    en_voice: str = "Polly.Emma"
    en_language: str = "en-GB"
    gather_timeout: int = 5
    audio: Mapping[str, str] = field(default_factory=dict)

    def voice(self, language: str) -> tuple[str, str]:
        """(voice, language code) for a prompt language."""
        if language == "en":
            return self.en_voice, self.en_language
        return self.fr_voice, self.fr_language


@dataclass(frozen=True)
class AcdSection:
    """Automatic call distributor settings."""

    offer_timeout: int = 20
    wrap_up: int = 60
    max_misses: int = 1
    max_waiting: int = 40
    max_wait: int = 1800
    skill_relax_after: int = 120
    announce_every: int = 45
    hold_music_url: str = ""
    default_skill: str = "psychologist"
    skills: tuple[str, ...] = ("psychologist", "lawyer", "digital")
    priority: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    skill_for: Mapping[str, str] = field(default_factory=dict)

    def priority_for(self, platform: str, caller_type: str) -> int:
        """Head start in seconds for a caller from ``platform`` of ``caller_type``."""
        by_platform = self.priority.get("platform", {})
        by_type = self.priority.get("caller_type", {})
        return int(by_platform.get(platform, 0)) + int(by_type.get(caller_type, 0))

    def skill_needed(self, caller_type: str) -> str:
        """Skill a caller of this type is routed to first."""
        return self.skill_for.get(caller_type, self.default_skill)


@dataclass(frozen=True)
class PrivacySection:
    """Retention."""

    call_record_ttl: int = 30 * 24 * 3600


@dataclass(frozen=True)
class HelplineConfig:
    """The whole TOML configuration of one helpline."""

    helpline: HelplineSection
    hours: HoursSection
    platforms: PlatformsSection
    menus: MenusSection
    prompts: PromptsSection
    acd: AcdSection
    privacy: PrivacySection

    @property
    def zone(self) -> ZoneInfo:
        """The helpline's time zone."""
        return ZoneInfo(self.helpline.time_zone)


def _section(cls: type, data: Mapping[str, Any], where: str) -> Any:
    """Build a frozen dataclass from a TOML table, refusing unknown keys and wrong types."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"[{where}] must be a table")
    names = {f.name: f for f in fields(cls)}
    unknown = set(data) - set(names)
    if unknown:
        raise ConfigError(f"[{where}] has unknown keys: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    defaults = cls()
    for name, raw in data.items():
        value = raw
        expected = getattr(defaults, name)
        if isinstance(expected, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"[{where}] {name} must be a list of strings")
            value = tuple(value)
        elif isinstance(expected, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"[{where}] {name} must be true or false")
        elif isinstance(expected, int):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"[{where}] {name} must be a whole number >= 0")
        elif isinstance(expected, str):
            if not isinstance(value, str):
                raise ConfigError(f"[{where}] {name} must be a string")
        elif isinstance(expected, Mapping):
            if not isinstance(value, Mapping):
                raise ConfigError(f"[{where}] {name} must be a table")
            value = dict(value)
        values[name] = value
    return cls(**values)


def parse_config(data: Mapping[str, Any]) -> HelplineConfig:
    """Validate a parsed TOML document into a `HelplineConfig`."""
    known = {"helpline", "hours", "platforms", "menus", "prompts", "acd", "privacy"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"unknown sections: {', '.join(sorted(unknown))}")
    hours_raw = data.get("hours", {})
    bad_days = set(hours_raw) - set(DAYS)
    if bad_days:
        raise ConfigError(f"[hours] unknown days: {', '.join(sorted(bad_days))}")
    weekly: dict[str, tuple[str, ...]] = {}
    for day in DAYS:
        ranges = hours_raw.get(day, [])
        if not isinstance(ranges, list):
            raise ConfigError(f"[hours] {day} must be a list of 'HH:MM-HH:MM'")
        for r in ranges:
            m = _RANGE.match(r) if isinstance(r, str) else None
            if not m or (m.group(3) == "24" and m.group(4) != "00") or r[:5] >= r[6:]:
                raise ConfigError(f"[hours] {day}: {r!r} is not a range 'HH:MM-HH:MM' within a day")
        weekly[day] = tuple(ranges)
    config = HelplineConfig(
        helpline=_section(HelplineSection, data.get("helpline", {}), "helpline"),
        hours=HoursSection(weekly=weekly),
        platforms=_section(PlatformsSection, data.get("platforms", {}), "platforms"),
        menus=_section(MenusSection, data.get("menus", {}), "menus"),
        prompts=_section(PromptsSection, data.get("prompts", {}), "prompts"),
        acd=_section(AcdSection, data.get("acd", {}), "acd"),
        privacy=_section(PrivacySection, data.get("privacy", {}), "privacy"),
    )
    try:
        ZoneInfo(config.helpline.time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"[helpline] time_zone {config.helpline.time_zone!r} unknown") from exc
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", config.helpline.id):
        raise ConfigError("[helpline] id must be 1-32 letters, digits, '-' or '_'")
    if config.helpline.default_language not in config.helpline.languages:
        raise ConfigError("[helpline] default_language must be one of languages")
    if config.acd.default_skill not in config.acd.skills:
        raise ConfigError("[acd] default_skill must be one of skills")
    for caller_type, skill in config.acd.skill_for.items():
        if skill not in config.acd.skills:
            raise ConfigError(f"[acd.skill_for] {caller_type} = {skill!r} is not one of skills")
    return config


def load_config(path: str | Path | None) -> HelplineConfig:
    """Read and validate the TOML file at ``path`` (the packaged default when None)."""
    path = Path(path) if path else DEFAULT_CONFIG
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"HELPLINE_CONFIG: no file at {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"HELPLINE_CONFIG: {path} is not valid TOML: {exc}") from exc
    return parse_config(data)


# --- the environment ------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Process settings from the environment."""

    mode: str
    redis_url: str | None
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_api_base_url: str
    public_base_url: str | None
    secret_key: str
    config_path: str | None
    data_dir: Path
    clock_speed: float = 1.0  # HELPLINE_CLOCK_SPEED (demo and test only)
    clock_origin: float = 0.0  # HELPLINE_CLOCK_ORIGIN, epoch seconds
    # Browser softphone (console): optional; the token endpoint answers 503 without the key.
    twilio_api_key_sid: str | None = None  # TWILIO_API_KEY_SID (SK…)
    twilio_api_key_secret: str | None = None  # TWILIO_API_KEY_SECRET
    twilio_twiml_app_sid: str | None = None  # TWILIO_TWIML_APP_SID (AP…), outgoing calls

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, mode: str | None = None) -> Settings:
        """Parse the environment; outside demo and test, refuse to run without the secrets."""
        env = os.environ if env is None else env
        mode = mode or env.get("HELPLINE_MODE", "production")
        if mode not in MODES:
            raise ConfigError(f"HELPLINE_MODE must be one of {', '.join(MODES)}, not {mode!r}")
        relaxed = mode != "production"
        token = env.get("TWILIO_AUTH_TOKEN", "")
        secret = env.get("SECRET_KEY", "")
        missing = [n for n, v in (("TWILIO_AUTH_TOKEN", token), ("SECRET_KEY", secret)) if not v]
        if missing and not relaxed:
            raise ConfigError(
                f"refusing to start: {' and '.join(missing)} must be set "
                "(set HELPLINE_MODE=demo for a local run with built-in test secrets)"
            )
        if secret and len(secret) < 16 and not relaxed:
            raise ConfigError("refusing to start: SECRET_KEY must be at least 16 characters")
        base = env.get("TWILIO_API_BASE_URL", TWILIO_API).rstrip("/")
        public = env.get("PUBLIC_BASE_URL", "").rstrip("/") or None
        for name, url in (("TWILIO_API_BASE_URL", base), ("PUBLIC_BASE_URL", public)):
            if url and not re.match(r"^https?://[^\s/]+", url):
                raise ConfigError(f"{name} must be an http(s) URL, not {url!r}")
        speed, origin = _clock(env, relaxed)
        if mode == "production" and not public:
            raise ConfigError("refusing to start: PUBLIC_BASE_URL must be set in production")
        return cls(
            mode=mode,
            redis_url=env.get("REDIS_URL") or None,
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32,
            twilio_auth_token=token or f"{mode}-auth-token",
            twilio_api_base_url=base,
            public_base_url=public,
            secret_key=secret or f"{mode}-secret-key-not-for-production",
            config_path=env.get("HELPLINE_CONFIG") or None,
            data_dir=Path(env.get("HELPLINE_DATA_DIR", "var")).resolve(),
            clock_speed=speed,
            clock_origin=origin,
            **_softphone(env),
        )


def _clock(env: Mapping[str, str], relaxed: bool) -> tuple[float, float]:
    """HELPLINE_CLOCK_SPEED / HELPLINE_CLOCK_ORIGIN: a faster clock, never in production."""
    raw_speed = env.get("HELPLINE_CLOCK_SPEED", "")
    if not raw_speed:
        return 1.0, 0.0
    if not relaxed:
        raise ConfigError("HELPLINE_CLOCK_SPEED is for the demo and tests only")
    try:
        speed = float(raw_speed)
        origin = float(env.get("HELPLINE_CLOCK_ORIGIN", "0"))
    except ValueError as exc:
        raise ConfigError("HELPLINE_CLOCK_SPEED and HELPLINE_CLOCK_ORIGIN must be numbers") from exc
    if not 0 < speed <= 1000:
        raise ConfigError("HELPLINE_CLOCK_SPEED must be in (0, 1000]")
    return speed, origin


def _softphone(env: Mapping[str, str]) -> dict[str, str | None]:
    """TWILIO_API_KEY_SID / _SECRET / TWILIO_TWIML_APP_SID: optional, but whole and well formed."""
    sid = env.get("TWILIO_API_KEY_SID") or None
    secret = env.get("TWILIO_API_KEY_SECRET") or None
    app = env.get("TWILIO_TWIML_APP_SID") or None
    if bool(sid) != bool(secret):
        raise ConfigError("TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET go together: set both")
    if sid and not re.fullmatch(r"SK[0-9a-fA-F]{32}", sid):
        raise ConfigError("TWILIO_API_KEY_SID must look like SK followed by 32 hex digits")
    if app and not re.fullmatch(r"AP[0-9a-fA-F]{32}", app):
        raise ConfigError("TWILIO_TWIML_APP_SID must look like AP followed by 32 hex digits")
    return {"twilio_api_key_sid": sid, "twilio_api_key_secret": secret, "twilio_twiml_app_sid": app}
