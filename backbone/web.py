"""The Flask application every service's web process is built from."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pymongo
from apispec.ext.marshmallow import MarshmallowPlugin, resolver
from flask import Flask, Response, g, jsonify, request, send_from_directory
from flask_smorest import Api
from marshmallow import Schema
from prometheus_client import CollectorRegistry
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError

from backbone import logs, metrics, mongo, outbox, problems
from backbone.health import broker_check, database_check, readiness
from backbone.problems import Problem
from backbone.settings import Settings

log = logging.getLogger("familyties.http")
_WARNINGS = logs.Throttle(60)

MAX_BODY_BYTES = 1024 * 1024
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

DATABASE_UNAVAILABLE = Problem(
    503,
    "Service unavailable",
    "The service cannot reach its database just now. Try again in a few seconds.",
    headers={"Retry-After": "5"},
)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # answers carry personal data: never cache them
}


def create_service_app(
    service: str,
    title: str,
    db: Database,
    settings: Settings,
    outbox_collections: Sequence[Collection] = (),
    key_scheme: tuple[str, str] | None = None,
) -> tuple[Flask, Api]:
    """A Flask app with the backbone's parts: problem+json errors, request ids and JSON
    access logs, metrics (with the backlog of `outbox_collections`), health checks of the
    database and the broker, and the OpenAPI document, with `key_scheme` (name,
    description) as its bearer-key security scheme. Blueprints are the caller's."""
    checks = [database_check(db), broker_check(settings)]
    metrics_registry = None
    if outbox_collections:
        metrics_registry = CollectorRegistry()
        metrics_registry.register(
            metrics.OutboxBacklog(lambda: outbox.backlog(list(outbox_collections)))
        )
    app = Flask(service)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        API_TITLE=title,
        API_VERSION="1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/static/swagger-ui/",
    )
    api = Api(app, spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(_schema_name)})
    if key_scheme:
        name, description = key_scheme
        api.spec.components.security_scheme(
            name, {"type": "http", "scheme": "bearer", "description": description}
        )
    problems.register(app)
    app.register_error_handler(PyMongoError, database_unavailable)
    app.wsgi_app = _DatabaseDeadline(app.wsgi_app, db.client, settings.request_database_seconds)
    serve_node_package(app, "/static/swagger-ui", "swagger-ui-dist")

    @app.before_request
    def start_request() -> None:
        offered = request.headers.get("X-Request-Id", "")
        g.request_id = offered if _REQUEST_ID.match(offered) else str(uuid.uuid4())
        g.started = time.perf_counter()
        logs.request_id.set(g.request_id)

    @app.after_request
    def finish_request(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        metrics.HTTP_REQUESTS.labels(service, request.method, route, response.status_code).inc()
        metrics.HTTP_LATENCY.labels(service, request.method, route).observe(elapsed)
        response.headers["X-Request-Id"] = g.get("request_id", "")
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if route not in ("/metrics", "/healthz", "/readyz"):
            log.info(
                "request answered",
                extra={
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
        return response

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz():
        body, status = readiness(checks)
        return jsonify(body), status

    @app.get("/metrics")
    def prometheus_metrics():
        return Response(metrics.exposition(metrics_registry), mimetype="text/plain; version=0.0.4")

    return app, api


class _DatabaseDeadline:
    """Every database operation of a request ends within `seconds` of the request's start,
    or fails and the request answers 503 with Retry-After. An overloaded database then
    sheds work at once, rather than piling up requests whose clients have given up and
    are already trying again. (A streamed answer's body is read after this returns, so a
    long export is not cut short.)"""

    def __init__(self, wsgi_app: Callable, client: MongoClient, seconds: float) -> None:
        self.wsgi_app = wsgi_app
        self.client = client
        self.seconds = seconds

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not self.client.topology_description.has_writable_server():
            # The database is away: the short server selection timeout answers 503 in
            # well under a second, and a deadline would replace it with its own.
            return self.wsgi_app(environ, start_response)
        with pymongo.timeout(self.seconds):
            return self.wsgi_app(environ, start_response)


def database_unavailable(error: PyMongoError) -> Response:
    """A database outage is a quick 503 that tells the client to try again, not a 500."""
    if not mongo.is_unavailable(error):
        raise error
    _WARNINGS.warning(log, "database unavailable", error=type(error).__name__)
    return DATABASE_UNAVAILABLE.response()


def _schema_name(schema: Schema | type[Schema]) -> str:
    """OpenAPI names schemas after their class; a partial one (PATCH) is '...Patch'."""
    name = resolver(schema)
    return f"{name}Patch" if isinstance(schema, Schema) and schema.partial else name


def require_json_object() -> None:
    """A body that is not one JSON object is refused before any schema reads it."""
    if request.mimetype != "application/json":
        raise Problem(415, "Unsupported media type", "Send the body as application/json.")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than any real document could be
        body = None
    if not isinstance(body, dict):
        raise Problem(400, "Malformed JSON", "The body must be one JSON object.")


NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"


def serve_node_package(app: Flask, url_prefix: str, package_dir: str) -> None:
    """Serve files of an npm package installed by the make targets: no CDN is needed."""
    root = NODE_MODULES / package_dir
    endpoint = "asset_" + url_prefix.strip("/").replace("/", "_").replace("-", "_")

    def asset(filename: str):
        return send_from_directory(root, filename, max_age=3600)

    app.add_url_rule(f"{url_prefix}/<path:filename>", endpoint, asset)
