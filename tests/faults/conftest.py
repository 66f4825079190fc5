"""Fixtures of the fault tests: the ACD edge fixtures (a caller in the queue, a counsellor,
the waitUrl) for the webhook-level tests of the fixes the fault runs led to."""

from tests.acd_edges.conftest import acd, caller, counsellor, wait  # noqa: F401
