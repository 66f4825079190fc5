"""A bare Flask endpoint answering constant TwiML: the floor `/voice/incoming` is compared to."""

from flask import Flask, Response

app = Flask(__name__)
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Bonjour</Say></Response>'


@app.post("/voice/incoming")
def incoming() -> Response:
    """Constant TwiML, no Redis, no signature check."""
    return Response(TWIML, mimetype="text/xml")


@app.get("/healthz")
def healthz() -> Response:
    """For the benchmark to know the server is up."""
    return Response("ok", mimetype="text/plain")
