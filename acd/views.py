"""ACD webhooks (placeholder blueprint; the ACD fills it)."""

from flask import Blueprint

bp = Blueprint("acd", __name__)
