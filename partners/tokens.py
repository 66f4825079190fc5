"""Short-lived Twilio Voice access tokens bound to a platform.

The token's identity is ``p.<platform>.<random>`` (`partners.identity.mint_identity`); its only
grant is an outgoing VoiceGrant for the helpline's TwiML App, so it can call the helpline and
nothing else: no incoming calls, no number chosen by the client (the TwiML App's voice URL is
the helpline's own webhook, which never dials what a caller sends).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from helpline.settings import Settings
from partners.identity import mint_identity

MAX_TTL = 600


class TokensUnavailable(Exception):
    """The Twilio API key or the TwiML App is not configured (demo, tests): no tokens."""


@dataclass(frozen=True)
class VoiceToken:
    """A signed token and what the client needs to know about it."""

    jwt: str
    identity: str
    platform: str
    ttl: int
    expires_at: datetime


def configured(settings: Settings) -> bool:
    """True when tokens can be issued (API key SID and secret, TwiML App SID)."""
    return bool(
        settings.twilio_api_key_sid
        and settings.twilio_api_key_secret
        and settings.twilio_twiml_app_sid
    )


def voice_token(settings: Settings, platform: str, ttl: int) -> VoiceToken:
    """A token for one caller of ``platform``, valid ``ttl`` seconds (at most 10 minutes).

    Twilio checks the expiry against real time, so the token uses the wall clock (the library's
    own) and not the injected clock, which the demo may run faster.
    """
    if not configured(settings):
        raise TokensUnavailable
    ttl = max(60, min(ttl, MAX_TTL))
    identity = mint_identity(platform)
    token = AccessToken(
        settings.twilio_account_sid,
        settings.twilio_api_key_sid,
        settings.twilio_api_key_secret,
        identity=identity,
        ttl=ttl,
    )
    token.add_grant(
        VoiceGrant(incoming_allow=False, outgoing_application_sid=settings.twilio_twiml_app_sid)
    )
    text = token.to_jwt()
    claims = jwt.decode(text, options={"verify_signature": False})
    return VoiceToken(
        jwt=text,
        identity=identity,
        platform=platform,
        ttl=ttl,
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )
