"""A phone-network simulator that stands in for Twilio, over HTTP only.

It serves Twilio's REST API (the Calls, Queues, Members, Conferences and Participants the
helpline uses), places signed webhook calls into the application, interprets the TwiML it
gets back as Twilio does, and plays simulated callers and counsellors in scaled real time.
It imports nothing from the application: it must be able to test a deployment elsewhere.
"""

from simulator.config import SimConfig
from simulator.core import CallHandle, CallResult, Simulator

__all__ = ["CallHandle", "CallResult", "SimConfig", "Simulator"]
