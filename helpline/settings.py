"""Settings from the environment and the helpline's TOML configuration, both parsed strictly."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_CONFIG = Path(__file__).with_name("default_config.toml")
TWILIO_API = "https://api.twilio.com"
DEFAULT_TWILIO_HTTP_TIMEOUT = 10.0  # seconds (TWILIO_HTTP_TIMEOUT)
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
    # Virtual hold (docs/acd-twilio.md): offered when the estimated wait is at least this
    # many seconds (0: never offered), to callable numbers only.
    callback_offer_after: int = 300
    callback_key: str = "2"  # the key a waiting caller presses to be called back
    callback_retry_after: int = 300  # seconds before a callback nobody answered is tried again
    callback_attempts: int = 2  # callbacks tried before the caller counts as missed
    callback_ttl: int = 3600  # seconds from the request after which nobody is called back

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
class PartnerLimits:
    """Abuse limits of one platform's in-app and web calls; 0 switches a limit off."""

    tokens_per_minute: int = 300  # voice tokens through the partner API, all its users together
    client_tokens_per_minute: int = 10  # per end user (API ``client``) or per IP (call page)
    page_tokens_per_minute: int = 120  # voice tokens through the web call page
    calls_per_minute: int = 120  # calls the platform's tokens may start
    max_concurrent_calls: int = 30  # the platform's calls in progress at once
    calls_per_token: int = 3  # calls one token (one identity) may start


@dataclass(frozen=True)
class PartnerPlatform:
    """One platform of the registry: display name, priority head start, limits."""

    id: str
    name: str
    priority: int  # head start in seconds of waiting, as ``[acd.priority] platform``
    limits: PartnerLimits = field(default_factory=PartnerLimits)


@dataclass(frozen=True)
class PartnersSection:
    """The platform registry and the partner API's settings (``[partners]``)."""

    token_ttl: int = 300  # seconds a voice token lives (60-600)
    key_lifetime_days: int = 365  # default lifetime of a new API key (0: no expiry)
    figures_per_minute: int = 30  # figures requests per platform and minute
    stale_call: int = 4 * 3600  # seconds after which a call never ended stops counting
    limits: PartnerLimits = field(default_factory=PartnerLimits)
    platforms: Mapping[str, PartnerPlatform] = field(default_factory=dict)

    def platform(self, tag: str) -> PartnerPlatform:
        """The registry entry for ``tag`` (defaults when the file has no table for it)."""
        found = self.platforms.get(tag)
        if found is not None:
            return found
        return PartnerPlatform(id=tag, name=tag.capitalize(), priority=0, limits=self.limits)


@dataclass(frozen=True)
class DashboardSection:
    """The duty managers' dashboard: figures, alerts, staffing planner, retention (optional)."""

    service_level_seconds: int = 60  # a call answered within this many seconds is "in SL"
    service_level_target: int = 80  # percent of calls to answer within it (the planner's aim)
    alert_wait_seconds: int = 120  # a caller waiting longer raises an alert
    shrinkage: int = 30  # percent of rostered time not on the phones (planner)
    history_weeks: int = 4  # same weekdays looked back on for the planner's forecast
    retention_days: int = 90  # events older than this are deleted (dashboard.jobs)
    audit_retention_days: int = 365  # managers' audit entries are kept this long


@dataclass(frozen=True)
class IncallSection:
    """In-call tools (docs/incall.md): numbers a counsellor may bring in, the blocklist."""

    police: str = "17"  # dialled by the safeguarding escalation, never taken from a request
    emergency: str = "112"
    child_protection: str = "119"
    block_hours: int = 24  # default duration of a blocklist entry
    max_block_hours: int = 2160  # 90 days: no entry lasts longer


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
    dashboard: DashboardSection = field(default_factory=DashboardSection)
    partners: PartnersSection = field(default_factory=PartnersSection)
    incall: IncallSection = field(default_factory=IncallSection)

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


_SECRET_NAME = re.compile(r"secret|password|passwd|auth_token|api_key|private_key|credential", re.I)


def _refuse_secrets(data: Mapping[str, Any], where: str = "") -> None:
    """Secrets come from the environment only: a TOML key that names one is refused, whatever
    table it is in (a config file is read by more people and kept in more places)."""
    for name, value in data.items():
        here = f"{where}.{name}" if where else str(name)
        if _SECRET_NAME.search(str(name)):
            raise ConfigError(
                f"{here}: secrets come from the environment only (SECRET_KEY, TWILIO_AUTH_TOKEN, "
                "TWILIO_API_KEY_SECRET), never from the configuration file"
            )
        if isinstance(value, Mapping):
            _refuse_secrets(value, here)


def parse_config(data: Mapping[str, Any]) -> HelplineConfig:
    """Validate a parsed TOML document into a `HelplineConfig`."""
    _refuse_secrets(data)
    known = {"helpline", "hours", "platforms", "menus", "prompts", "acd", "privacy", "partners"}
    known.add("dashboard")
    known.add("incall")
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
        dashboard=_section(DashboardSection, data.get("dashboard", {}), "dashboard"),
        incall=_section(IncallSection, data.get("incall", {}), "incall"),
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
    _check_callback(config.acd)
    _check_dashboard(config.dashboard)
    _check_incall(config.incall)
    return _with_partners(config, data.get("partners", {}))


def _check_dashboard(section: DashboardSection) -> None:
    """``[dashboard]`` ranges that the value types alone do not say."""
    if not 1 <= section.service_level_target <= 99:
        raise ConfigError("[dashboard] service_level_target must be a percentage from 1 to 99")
    if section.shrinkage > 95:
        raise ConfigError("[dashboard] shrinkage must be a percentage from 0 to 95")
    if not 1 <= section.history_weeks <= 52:
        raise ConfigError("[dashboard] history_weeks must be from 1 to 52")
    for name in ("retention_days", "audit_retention_days", "alert_wait_seconds"):
        if getattr(section, name) < 1:
            raise ConfigError(f"[dashboard] {name} must be at least 1")


def _check_callback(section: AcdSection) -> None:
    """``[acd] callback_*``: one key to press, sensible attempts and delays."""
    if len(section.callback_key) != 1 or section.callback_key not in "0123456789":
        raise ConfigError("[acd] callback_key must be one digit, 0 to 9")
    if not 1 <= section.callback_attempts <= 5:
        raise ConfigError("[acd] callback_attempts must be from 1 to 5")
    if section.callback_retry_after < 30:
        raise ConfigError("[acd] callback_retry_after must be at least 30 seconds")
    if section.callback_ttl < 600:
        raise ConfigError("[acd] callback_ttl must be at least 600 seconds")


_DIALLABLE = re.compile(r"^(\+[1-9]\d{6,14}|\d{2,6})$")  # E.164, or a short code (17, 119)


def _check_incall(section: IncallSection) -> None:
    """``[incall]``: numbers Twilio can dial, block durations that make sense."""
    for name in ("police", "emergency", "child_protection"):
        if not _DIALLABLE.match(getattr(section, name)):
            raise ConfigError(f"[incall] {name} must be a short code or an E.164 number")
    if not 1 <= section.block_hours <= section.max_block_hours:
        raise ConfigError("[incall] block_hours must be from 1 to max_block_hours")


# --- [partners]: the platform registry -------------------------------------------------------

_PARTNER_TOP = {"token_ttl", "key_lifetime_days", "figures_per_minute", "stale_call", "platforms"}
_LIMIT_NAMES = frozenset(f.name for f in fields(PartnerLimits))
_NOT_PARTNERS = frozenset({"phone", "unknown"})


def _whole(value: Any, where: str, low: int = 0, high: int = 10**9) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{where} must be a whole number from {low} to {high}")
    return value


def _limits(data: Mapping[str, Any], base: PartnerLimits, where: str) -> PartnerLimits:
    values = {n: _whole(data[n], f"{where} {n}") for n in _LIMIT_NAMES if n in data}
    return replace(base, **values)


def _with_partners(config: HelplineConfig, data: Any) -> HelplineConfig:
    """Parse ``[partners]`` and feed each platform's priority to ``[acd.priority] platform``.

    The priority lives in one place for the ACD: a platform's ``priority`` here is copied into
    ``acd.priority.platform`` (setting both to different values is an error).
    """
    if not isinstance(data, Mapping):
        raise ConfigError("[partners] must be a table")
    unknown = set(data) - _PARTNER_TOP - _LIMIT_NAMES
    if unknown:
        raise ConfigError(f"[partners] has unknown keys: {', '.join(sorted(unknown))}")
    defaults = PartnersSection()
    limits = _limits(data, defaults.limits, "[partners]")
    tables = data.get("platforms", {})
    if not isinstance(tables, Mapping):
        raise ConfigError("[partners.platforms] must be a table of platform tables")
    by_platform = dict(config.acd.priority.get("platform", {}))
    platforms: dict[str, PartnerPlatform] = {}
    for tag, table in tables.items():
        where = f"[partners.platforms.{tag}]"
        if tag not in config.platforms.known or tag in _NOT_PARTNERS:
            raise ConfigError(f"{where}: {tag!r} is not a platform of [platforms] known")
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} must be a table")
        extra = set(table) - {"name", "priority"} - _LIMIT_NAMES
        if extra:
            raise ConfigError(f"{where} has unknown keys: {', '.join(sorted(extra))}")
        name = table.get("name", tag.capitalize())
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 64:
            raise ConfigError(f"{where} name must be a string of 1 to 64 characters")
        if "priority" in table:
            priority = _whole(table["priority"], f"{where} priority", 0, 3600)
            if tag in by_platform and int(by_platform[tag]) != priority:
                raise ConfigError(
                    f"{where} priority = {priority} but [acd.priority] platform.{tag} = "
                    f"{by_platform[tag]}: set it in one place"
                )
            by_platform[tag] = priority
        else:
            priority = int(by_platform.get(tag, 0))
        platforms[tag] = PartnerPlatform(
            id=tag, name=name.strip(), priority=priority, limits=_limits(table, limits, where)
        )

    def top(name: str, low: int, high: int) -> int:
        return _whole(data.get(name, getattr(defaults, name)), f"[partners] {name}", low, high)

    partners = PartnersSection(
        token_ttl=top("token_ttl", 60, 600),
        key_lifetime_days=top("key_lifetime_days", 0, 3650),
        figures_per_minute=top("figures_per_minute", 0, 10**9),
        stale_call=top("stale_call", 60, 86400),
        limits=limits,
        platforms=platforms,
    )
    merged = {**config.acd.priority, "platform": by_platform}
    return replace(config, partners=partners, acd=replace(config.acd, priority=merged))


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
    """Process settings from the environment. Secrets (and URLs that may hold a password) stay
    out of the repr: logging the settings must not log them."""

    mode: str
    redis_url: str | None = field(repr=False)
    twilio_account_sid: str
    twilio_auth_token: str = field(repr=False)
    twilio_api_base_url: str
    public_base_url: str | None
    secret_key: str = field(repr=False)
    config_path: str | None
    data_dir: Path
    clock_speed: float = 1.0  # HELPLINE_CLOCK_SPEED (demo and test only)
    clock_origin: float = 0.0  # HELPLINE_CLOCK_ORIGIN, epoch seconds
    # Browser softphone (console): optional; the token endpoint answers 503 without the key.
    twilio_api_key_sid: str | None = None  # TWILIO_API_KEY_SID (SK…)
    twilio_api_key_secret: str | None = field(default=None, repr=False)  # TWILIO_API_KEY_SECRET
    twilio_twiml_app_sid: str | None = None  # TWILIO_TWIML_APP_SID (AP…), outgoing calls
    # RQ_REDIS_URL: where RQ keeps its queues when not on REDIS_URL (required with a Cluster).
    rq_redis_url: str | None = field(default=None, repr=False)
    # TWILIO_HTTP_TIMEOUT: seconds a REST request to Twilio may take before the client gives up.
    twilio_http_timeout: float = DEFAULT_TWILIO_HTTP_TIMEOUT

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
        redis_url, rq_redis_url = _redis_urls(env)
        if mode == "production" and not public:
            raise ConfigError("refusing to start: PUBLIC_BASE_URL must be set in production")
        return cls(
            mode=mode,
            redis_url=redis_url,
            rq_redis_url=rq_redis_url,
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or "AC" + "0" * 32,
            twilio_auth_token=token or f"{mode}-auth-token",
            twilio_api_base_url=base,
            public_base_url=public,
            secret_key=secret or f"{mode}-secret-key-not-for-production",
            config_path=env.get("HELPLINE_CONFIG") or None,
            data_dir=Path(env.get("HELPLINE_DATA_DIR", "var")).resolve(),
            clock_speed=speed,
            clock_origin=origin,
            twilio_http_timeout=_http_timeout(env),
            **_softphone(env),
        )


def _http_timeout(env: Mapping[str, str]) -> float:
    """TWILIO_HTTP_TIMEOUT: a positive number of seconds, at most a minute."""
    raw = env.get("TWILIO_HTTP_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_TWILIO_HTTP_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 60:
        raise ConfigError(f"TWILIO_HTTP_TIMEOUT must be seconds between 0 and 60, not {raw!r}")
    return value


def _redis_urls(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """REDIS_URL and RQ_REDIS_URL, checked (docs/deployment.md): RQ cannot run on a Cluster."""
    from helpline.redis_topology import CLUSTER, parse_redis_url

    found: dict[str, str | None] = {}
    for name in ("REDIS_URL", "RQ_REDIS_URL"):
        url = env.get(name) or None
        if url:
            try:
                found[name] = parse_redis_url(url).kind
            except ValueError as exc:
                raise ConfigError(f"{name}: {exc}") from exc
    if found.get("RQ_REDIS_URL") == CLUSTER:
        raise ConfigError("RQ_REDIS_URL cannot be a Redis Cluster: RQ needs one server")
    if found.get("REDIS_URL") == CLUSTER and "RQ_REDIS_URL" not in found:
        raise ConfigError(
            "REDIS_URL is a Redis Cluster: set RQ_REDIS_URL to a plain or Sentinel Redis for RQ, "
            "whose keys cannot live on a Cluster"
        )
    return env.get("REDIS_URL") or None, env.get("RQ_REDIS_URL") or None


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
