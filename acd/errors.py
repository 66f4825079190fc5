"""The ACD's exceptions. "No counsellor is free" is not one of them: `reserve_next` returns None."""

from __future__ import annotations


class AcdError(Exception):
    """Something the ACD was asked cannot be done; the message says why."""


class UnknownCounsellor(AcdError):
    """No counsellor has this id."""


class CounsellorExists(AcdError):
    """A counsellor with this id already exists (use update)."""


class InvalidTransition(AcdError):
    """The requested state change is not allowed from the counsellor's current state."""


class CounsellorBusy(InvalidTransition):
    """The counsellor is being offered a call or is on one (nothing may change them now)."""


class InvalidCounsellor(AcdError):
    """A counsellor's profile is not valid (skill, language, endpoint)."""
