"""The ACD's store tests, unchanged, on a 3-primary Redis Cluster (fixtures: conftest.py)."""

from tests.acd.test_store import *  # noqa: F403 - the same tests, collected here again
