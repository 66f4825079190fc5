"""Fault runs: the whole product under simulated load while processes die, Redis restarts,
Twilio misbehaves and counsellors do not answer (``python -m faults``, docs/reliability.md)."""
