"""Application factory: settings, runtime, blueprints, health and metrics."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.middleware.proxy_fix import ProxyFix

from helpline.clock import to_ms
from helpline.log import configure_logging
from helpline.metrics import LATENCY, WEBHOOKS, render
from helpline.pages import SECURITY_HEADERS
from helpline.runtime import Runtime, build_runtime, set_runtime

TEMPLATES = Path(__file__).resolve().parent.parent / "twiml_templates"
HEARTBEAT_STALE_MS = 60_000


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the web app. ``overrides`` may hold ``RUNTIME`` (a ready `Runtime`) and Flask keys."""
    overrides = dict(overrides or {})
    runtime: Runtime = overrides.pop("RUNTIME", None) or build_runtime()
    app = Flask(__name__, template_folder=str(TEMPLATES))
    app.config.update(SECRET_KEY=runtime.settings.secret_key, MAX_CONTENT_LENGTH=256 * 1024)
    app.config.update(overrides)
    app.extensions["helpline"] = runtime
    set_runtime(runtime)
    if runtime.settings.mode != "test":
        configure_logging()
    hops = int(app.config.get("PROXY_HOPS", 0))
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from acd.views import bp as acd_bp
    from console.views import bp as console_bp
    from dashboard.views import bp as dashboard_bp
    from incall.views import bp as incall_bp
    from ivr.views import bp as ivr_bp
    from partners.callpage import bp as callpage_bp
    from partners.views import bp as partners_bp

    app.register_blueprint(ivr_bp)
    app.register_blueprint(acd_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(incall_bp)
    app.register_blueprint(partners_bp)
    app.register_blueprint(callpage_bp)
    _register_ops(app, runtime)
    return app


def _register_ops(app: Flask, runtime: Runtime) -> None:
    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        started = g.get("started")
        if started is not None:
            LATENCY.labels(route).observe(time.perf_counter() - started)
        WEBHOOKS.labels(route, str(response.status_code)).inc()
        return response

    @app.after_request
    def _page_headers(response: Response) -> Response:
        """Every answer is nosniff; every HTML one (Flask's own 404 and 405 pages included)
        gets the pages' security headers, unless its blueprint already set its own."""
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if response.mimetype == "text/html":
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        """Redis reachable and the worker's heartbeat age; 503 when Redis is not."""
        try:
            runtime.redis.ping()
            beat = runtime.redis.get(runtime.keys.worker_heartbeat)
        except Exception:  # noqa: BLE001 - health must answer, not raise
            return jsonify(status="fail", redis="unreachable"), 503
        now = to_ms(runtime.clock.now())
        age = (now - int(beat)) / 1000 if beat else None
        worker = "ok" if age is not None and age * 1000 < HEARTBEAT_STALE_MS else "stale"
        return jsonify(status="ok", redis="ok", worker=worker, worker_heartbeat_age=age), 200

    @app.get("/metrics")
    def metrics() -> Response:
        """Prometheus text format."""
        return Response(render(runtime), mimetype="text/plain; version=0.0.4")
