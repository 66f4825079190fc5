"""Prompt catalogues and the loader."""

from __future__ import annotations

import string
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from helpline.settings import HelplineConfig
from ivr import flow
from ivr import prompts as prompts_module
from ivr.prompts import catalogue, prompt, spoken_date, spoken_time

PARIS = ZoneInfo("Europe/Paris")


def with_prompts(config: HelplineConfig, **changes: object) -> HelplineConfig:
    return replace(config, prompts=replace(config.prompts, **changes))


def test_both_catalogues_have_the_same_prompt_ids() -> None:
    """Every prompt exists in French and in English (the fallback is for mistakes only)."""
    assert set(catalogue("fr")) == set(catalogue("en"))
    assert len(catalogue("fr")) > 20


def test_every_prompt_the_flow_uses_exists() -> None:
    """The ids named in ivr.flow are all in the catalogue."""
    ids = [
        value
        for name, value in vars(flow).items()
        if name.isupper() and isinstance(value, str) and value.startswith("ivr.")
    ]
    ids += list(flow.REOPENS.values()) + list(flow.OVERFLOW.values())
    assert len(ids) > 15
    for prompt_id in ids:
        assert isinstance(catalogue("fr")[prompt_id], str), prompt_id


def test_placeholders_are_only_values_the_code_supplies() -> None:
    """No voice-flow prompt names a placeholder the code does not fill (none from input)."""
    allowed = {"website", "helpline", "time", "date", "hour", "hour12", "minute", "minutes"}
    allowed |= {"ampm", "weekday", "day", "month"}
    for language in ("fr", "en"):
        for prompt_id, text in catalogue(language).items():
            if isinstance(text, str) and prompt_id.startswith("ivr."):
                names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
                assert names <= allowed, (language, prompt_id, names)


def test_voice_and_language_code_come_from_the_configuration(config: HelplineConfig) -> None:
    """<Say voice= language=> per language, from [prompts]."""
    config = with_prompts(config, fr_voice="Polly.Celine", en_voice="Polly.Amy")
    fr = prompt(config, "fr", "ivr.goodbye")
    en = prompt(config, "en", "ivr.goodbye")
    assert (fr.voice, fr.language_code, fr.text) == (
        "Polly.Celine",
        "fr-FR",
        "Prenez soin de vous. Au revoir.",
    )
    assert (en.voice, en.language_code, en.text) == ("Polly.Amy", "en-GB", "Take care. Goodbye.")


def test_configuration_values_fill_the_placeholders(config: HelplineConfig) -> None:
    """The website in the alternatives comes from [helpline] website."""
    config = replace(config, helpline=replace(config.helpline, website="e-enfance.org"))
    assert "e-enfance.org" in prompt(config, "fr", "ivr.alternatives").text


def test_a_prompt_missing_in_english_falls_back_to_french_with_the_french_voice(
    config: HelplineConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An English caller still hears something sensible when a translation is missing."""
    english = {k: v for k, v in catalogue("en").items() if k != "ivr.goodbye"}
    real = catalogue
    monkeypatch.setattr(
        prompts_module, "catalogue", lambda lang: english if lang == "en" else real(lang)
    )
    goodbye = prompts_module.prompt(config, "en", "ivr.goodbye")
    assert goodbye.text == "Prenez soin de vous. Au revoir."
    assert (goodbye.voice, goodbye.language_code) == (config.prompts.fr_voice, "fr-FR")
    with pytest.raises(KeyError):
        prompts_module.prompt(config, "en", "ivr.no_such_prompt")


def test_recorded_audio_replaces_the_text(config: HelplineConfig) -> None:
    """An audio URL for a prompt id plays instead of the synthesised text."""
    config = with_prompts(
        config,
        audio={
            "welcome": "https://cdn.example/welcome-fr.mp3",
            "en.ivr.goodbye": "https://cdn.example/bye-en.mp3",
            "ivr.closed": "ftp://not-a-web-url",
        },
    )
    assert prompt(config, "fr", "ivr.welcome").audio_url == "https://cdn.example/welcome-fr.mp3"
    assert prompt(config, "en", "ivr.welcome").audio_url is None  # French audio, English caller
    assert prompt(config, "en", "ivr.goodbye").audio_url == "https://cdn.example/bye-en.mp3"
    assert prompt(config, "fr", "ivr.goodbye").audio_url is None
    assert prompt(config, "fr", "ivr.closed").audio_url is None


def test_a_prompt_with_values_keeps_its_text_even_with_audio(config: HelplineConfig) -> None:
    """A recording cannot say the reopening time: the text is spoken instead."""
    config = with_prompts(config, audio={"reopens_today": "https://cdn.example/r.mp3"})
    p = prompt(config, "fr", "ivr.reopens_today", time="9 heures", date="")
    assert p.audio_url is None and p.text.endswith("à 9 heures.")


@pytest.mark.parametrize(
    ("when", "fr", "en"),
    [
        ("2026-11-24T09:00", "9 heures", "9 am"),
        ("2026-11-24T21:30", "21 heures 30", "9:30 pm"),
        ("2026-11-24T12:05", "12 heures 5", "12:05 pm"),
        ("2026-11-24T01:00", "1 heure", "1 am"),
        ("2026-11-24T00:00", "minuit", "midnight"),
    ],
)
def test_times_are_spoken_naturally(when: str, fr: str, en: str) -> None:
    """French 24-hour wording, English 12-hour with am/pm."""
    moment = datetime.fromisoformat(when).replace(tzinfo=PARIS)
    assert spoken_time("fr", moment) == fr
    assert spoken_time("en", moment) == en


def test_dates_are_spoken_with_weekday_and_month() -> None:
    """ "mardi 1er décembre", "on Tuesday 1 December"."""
    moment = datetime(2026, 12, 1, 9, 0, tzinfo=PARIS)
    assert spoken_date("fr", moment) == "mardi 1er décembre"
    assert spoken_date("en", moment) == "on Tuesday 1 December"
    assert spoken_date("fr", datetime(2026, 11, 24, tzinfo=PARIS)) == "mardi 24 novembre"
