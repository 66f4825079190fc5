"""The dashboard's key names and its optional ``[dashboard]`` settings."""

from __future__ import annotations

import pytest

from dashboard import overrides
from helpline.keys import Keys
from helpline.settings import ConfigError, DashboardSection, load_config, parse_config


def test_dashboard_keys_are_pinned() -> None:
    """Exact strings, all under the helpline's hash tag."""
    k = Keys("3018")
    assert k.audit == "hl:{3018}:audit"
    assert k.acd_overrides == "hl:{3018}:acd:overrides"
    assert k.roster("2026-11-23") == "hl:{3018}:roster:2026-11-23"
    assert k.roster_seq == "hl:{3018}:roster:seq"
    assert k.forecast("2026-11-23") == "hl:{3018}:forecast:2026-11-23"
    assert k.retention_last == "hl:{3018}:retention:last"
    assert k.announcement == "hl:{3018}:announcement"


def test_dashboard_section_is_optional() -> None:
    """Without ``[dashboard]`` the defaults apply; the packaged file says the same."""
    assert parse_config({}).dashboard == DashboardSection()
    assert load_config(None).dashboard == DashboardSection()
    assert DashboardSection().service_level_seconds == 60


def test_dashboard_section_is_parsed_strictly() -> None:
    """Known keys with whole numbers in range; anything else stops the start-up."""
    config = parse_config({"dashboard": {"service_level_seconds": 20, "retention_days": 30}})
    assert (config.dashboard.service_level_seconds, config.dashboard.retention_days) == (20, 30)
    for bad, message in (
        ({"colour": 1}, "unknown keys"),
        ({"service_level_seconds": "60"}, "whole number"),
        ({"service_level_target": 100}, "1 to 99"),
        ({"shrinkage": 96}, "0 to 95"),
        ({"history_weeks": 0}, "1 to 52"),
        ({"retention_days": 0}, "at least 1"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_config({"dashboard": bad})


def test_overrides_parse_ignores_what_is_out_of_range() -> None:
    """A hand-edited hash cannot push the ACD outside the ranges the page allows."""
    known = ("phone", "instagram")
    parsed = overrides.parse(
        {
            "max_waiting": "0",
            "max_wait": "600",
            "priority.platform.instagram": "90",
            "priority.platform.myspace": "90",
            "priority.platform.phone": "lots",
        },
        known,
    )
    assert parsed == overrides.AcdOverrides(max_wait=600, platform_priority={"instagram": 90})
    assert parsed.as_fields() == {"max_wait": "600", "priority.platform.instagram": "90"}
