"""The ``[incall]`` section and the in-call key names."""

from __future__ import annotations

import tomllib

import pytest

from helpline.keys import Keys
from helpline.settings import DEFAULT_CONFIG, ConfigError, IncallSection, load_config, parse_config


def test_default_config_names_the_services_numbers() -> None:
    """17, 112 and 119 by default; a day's block unless said otherwise."""
    incall = load_config(None).incall
    assert (incall.police, incall.emergency, incall.child_protection) == ("17", "112", "119")
    assert incall.block_hours == 24
    assert IncallSection() == incall  # the section is optional and defaults alike


@pytest.mark.parametrize(
    "section",
    [
        {"police": "dix-sept"},
        {"emergency": "client:someone"},
        {"child_protection": ""},
        {"block_hours": 0},
        {"block_hours": 100, "max_block_hours": 10},
        {"unknown": 1},
    ],
)
def test_bad_incall_section_is_refused(section: dict[str, object]) -> None:
    """Numbers must be short codes or E.164; durations must make sense."""
    data = tomllib.loads(DEFAULT_CONFIG.read_text())
    data["incall"] = section
    with pytest.raises(ConfigError):
        parse_config(data)


def test_incall_key_names_are_pinned() -> None:
    """The exact strings, under the helpline's hash tag."""
    k = Keys("3018")
    assert k.incall_blocked == "hl:{3018}:incall:blocked"
    assert k.incall_blocks == "hl:{3018}:incall:blocks"
    assert k.incall_supervision("7") == "hl:{3018}:incall:supervision:7"
    assert k.incall_escalation_lock("7", "police") == "hl:{3018}:incall:escalation_lock:7:police"
