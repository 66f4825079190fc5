"""Turning a flow `Turn` into TwiML through the templates (``twiml_templates/ivr/*.xml``)."""

from __future__ import annotations

from flask import Response, render_template

from helpline.runtime import Runtime
from helpline.settings import HelplineConfig
from ivr.flow import Then, Turn
from ivr.prompts import render_line

# The ACD's routes the caller is sent to (blueprint ``acd``: ``acd.wait``, ``acd.queue_result``).
QUEUE_WAIT_PATH = "/voice/queue/wait"
QUEUE_RESULT_PATH = "/voice/queue/result"
REJOIN_PATH = "/voice/rejoin"


def queue_name(config: HelplineConfig) -> str:
    """The helpline's Twilio queue: ``helpline-<id>``."""
    return f"helpline-{config.helpline.id}"


def twiml(body: str) -> Response:
    """A TwiML answer (always 200: Twilio plays an error on anything else)."""
    return Response(body, status=200, mimetype="text/xml")


def render_turn(runtime: Runtime, turn: Turn) -> Response:
    """The TwiML of a turn; absolute URLs from PUBLIC_BASE_URL."""
    config = runtime.config
    lines = [render_line(config, line) for line in turn.say]
    if turn.then is Then.GATHER and turn.action:
        body = render_template(
            "ivr/menu.xml",
            lines=lines,
            ask=[render_line(config, line) for line in turn.ask],
            action=runtime.public_url(turn.action),
            timeout=max(1, config.prompts.gather_timeout),
        )
    elif turn.then is Then.ENQUEUE:
        body = render_template(
            "ivr/enqueue.xml",
            lines=lines,
            wait_url=runtime.public_url(QUEUE_WAIT_PATH),
            action_url=runtime.public_url(QUEUE_RESULT_PATH),
            queue=queue_name(config),
        )
    else:
        body = render_template("ivr/hangup.xml", lines=lines)
    return twiml(body)
