"""Prompt catalogues: what the line says, one TOML file per language (``ivr/prompts/*.toml``).

A prompt id is ``<section>.<name>`` (``ivr.welcome``; the ACD's live in ``[acd]``). An id
missing from a language's catalogue falls back to French, spoken with the French voice.
Placeholders (``{website}``, ``{time}``…) are filled from the configuration and the clock,
never from a request. A recorded audio URL in ``[prompts.audio]`` replaces the text with
``<Play>``.

Recorded audio: ``[prompts.audio]`` keys are prompt ids (``"ivr.welcome"``; ``welcome`` alone
means ``ivr.welcome``) and apply to the helpline's default language; prefix a key with a
language (``"en.ivr.welcome"``) for another one. A prompt spoken with values (the reopening
time) keeps its synthesised text, since a recording cannot say them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from helpline.settings import HelplineConfig
from ivr.flow import Line

CATALOGUES = Path(__file__).with_name("prompts")
FALLBACK = "fr"
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")

Entry = str | tuple[str, ...]


@dataclass(frozen=True)
class Prompt:
    """A prompt ready for the ``say`` macro: text and voice, or a recording to play."""

    text: str
    voice: str
    language_code: str
    audio_url: str | None = None


@cache
def catalogue(language: str) -> Mapping[str, Entry]:
    """Every prompt of ``language`` by id (empty for a language without a catalogue)."""
    path = CATALOGUES / f"{language}.toml"
    if not _LANGUAGE.match(language) or not path.is_file():
        return {}
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    entries: dict[str, Entry] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            continue
        for name, value in table.items():
            if isinstance(value, str):
                entries[f"{section}.{name}"] = value
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                entries[f"{section}.{name}"] = tuple(value)
    return entries


def prompt(config: HelplineConfig, language: str, prompt_id: str, **params: object) -> Prompt:
    """The prompt ``prompt_id`` in ``language`` (French if it has none), values filled in."""
    value, spoken_in = _lookup(language, prompt_id)
    if not isinstance(value, str):
        raise KeyError(f"prompt {prompt_id!r} is a list, not a text")
    values: dict[str, object] = {
        "website": config.helpline.website,
        "helpline": config.helpline.name,
        **params,
    }
    voice, code = config.prompts.voice(spoken_in)
    audio = None if params else audio_url(config, spoken_in, prompt_id)
    return Prompt(value.format(**values), voice, code, audio)


def render_line(config: HelplineConfig, line: Line) -> Prompt:
    """A flow `Line` as a `Prompt` (a time it carries spoken as ``{time}`` and ``{date}``)."""
    if line.when is None:
        return prompt(config, line.language, line.prompt)
    return prompt(
        config,
        line.language,
        line.prompt,
        time=spoken_time(line.language, line.when),
        date=spoken_date(line.language, line.when),
    )


def spoken_time(language: str, when: datetime) -> str:
    """``9 heures``, ``21 heures 30``; ``9 a.m.``, ``9:30 p.m.`` (wall time of ``when``)."""
    hour, minute = when.hour, when.minute
    if hour == 0 and minute == 0:
        return text(language, "ivr.time_midnight")
    key = "ivr.time_hour" if minute == 0 else "ivr.time_hour_minute"
    if hour <= 1:
        key += "_singular"
    return text(language, key).format(
        hour=hour,
        hour12=hour % 12 or 12,
        minute=f"{minute:02d}",
        minutes=minute,
        ampm=text(language, "ivr.am" if hour < 12 else "ivr.pm"),
    )


def spoken_date(language: str, when: datetime) -> str:
    """``lundi 24 novembre``; ``on Monday 24 November``."""
    day = text(language, "ivr.first_of_month") if when.day == 1 else str(when.day)
    return text(language, "ivr.date").format(
        weekday=words(language, "ivr.weekdays")[when.weekday()],
        day=day,
        month=words(language, "ivr.months")[when.month - 1],
    )


def text(language: str, prompt_id: str) -> str:
    """The raw text of a prompt (placeholders left in)."""
    value, _ = _lookup(language, prompt_id)
    if not isinstance(value, str):
        raise KeyError(f"prompt {prompt_id!r} is a list, not a text")
    return value


def words(language: str, prompt_id: str) -> tuple[str, ...]:
    """A list entry of the catalogue (weekday and month names)."""
    value, _ = _lookup(language, prompt_id)
    if isinstance(value, str):
        raise KeyError(f"prompt {prompt_id!r} is a text, not a list")
    return value


def audio_url(config: HelplineConfig, language: str, prompt_id: str) -> str | None:
    """The recording configured for ``prompt_id`` in ``language``, if any (http/https only)."""
    audio = _flatten(config.prompts.audio)
    candidates = [f"{language}.{prompt_id}"]
    if language == config.helpline.default_language:
        candidates.append(prompt_id)
        if prompt_id.startswith("ivr."):
            candidates.append(prompt_id.removeprefix("ivr."))
    for key in candidates:
        url = audio.get(key)
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            return url
    return None


def _lookup(language: str, prompt_id: str) -> tuple[Entry, str]:
    """(the entry, the language it was found in): ``language`` first, then French."""
    for lang in (language, FALLBACK):
        value = catalogue(lang).get(prompt_id)
        if value is not None:
            return value, lang
    raise KeyError(f"no prompt {prompt_id!r} in {language!r} nor in {FALLBACK!r}")


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"ivr": {"welcome": url}}`` (an unquoted dotted TOML key) → ``{"ivr.welcome": url}``."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
