"""The platform registry: which tags may hold API keys, their names, priorities and limits. Pure.

Every tag of ``[platforms] known`` but ``phone`` is a partner platform;
``[partners.platforms.<tag>]`` gives it a display name, a priority head start and limit
overrides (`helpline.settings`).
"""

from __future__ import annotations

from helpline.settings import HelplineConfig, PartnerPlatform

NOT_PARTNERS = frozenset({"phone", "unknown"})


def is_partner_platform(config: HelplineConfig, tag: str) -> bool:
    """True for a configured platform that may hold keys and carry web calls."""
    return tag in config.platforms.known and tag not in NOT_PARTNERS


def partner_platforms(config: HelplineConfig) -> list[PartnerPlatform]:
    """Every partner platform, in the order of ``[platforms] known``."""
    return [config.partners.platform(t) for t in config.platforms.known if t not in NOT_PARTNERS]


def display_name(config: HelplineConfig, tag: str) -> str:
    """A platform's display name (the tag itself for ``unknown`` and others)."""
    if is_partner_platform(config, tag):
        return config.partners.platform(tag).name
    return tag
