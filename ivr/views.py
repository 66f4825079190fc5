"""Voice webhooks (placeholder blueprint; the call flow fills it)."""

from flask import Blueprint

bp = Blueprint("ivr", __name__)
