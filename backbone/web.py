"""The Flask application every service's web process is built from."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pymongo
from apispec.ext.marshmallow import MarshmallowPlugin, resolver
from flask import Flask, Response, g, jsonify, request, send_from_directory
from flask_smorest import Api, Blueprint
from marshmallow import Schema
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError
from werkzeug.security import safe_join

from backbone import logs, metrics, mongo, outbox, problems, tracing
from backbone.api_keys import KeyHolders, key_check
from backbone.fields import has_lone_surrogate
from backbone.health import broker_check, database_check, readiness
from backbone.problems import Problem
from backbone.settings import Settings

log = logging.getLogger("familyties.http")
_WARNINGS = logs.Throttle(60)

MAX_BODY_BYTES = 1024 * 1024
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}\Z")

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


def start(service: str, settings: Settings | None = None) -> tuple[Settings, Database]:
    """A web process's settings (from the environment unless given), its JSON logging and
    tracing, and its own database."""
    settings = settings or Settings.from_env()
    logs.configure(service, settings.log_level)
    tracing.configure(service)
    return settings, mongo.database(settings, service)


def create_service_app(
    service: str,
    title: str,
    db: Database,
    settings: Settings,
    outbox_collections: Sequence[Collection] = (),
    key_scheme: tuple[str, str] | None = None,
    key_for_every_operation: bool = False,
    collectors: Sequence[Any] = (),
) -> tuple[Flask, Api]:
    """A Flask app with the backbone's parts: problem+json errors, request ids and JSON
    access logs, metrics (with the backlog of `outbox_collections`), health checks of the
    database and the broker, and the OpenAPI document, with `key_scheme` (name,
    description) as its bearer-key security scheme, which the document says every
    operation needs if `key_for_every_operation`, and `collectors` (Prometheus collectors
    read at scrape time) on /metrics. Blueprints are the caller's."""
    checks = [database_check(db), broker_check(settings)]
    metrics_registry = None
    if outbox_collections or collectors:
        metrics_registry = CollectorRegistry()
    if outbox_collections:
        metrics_registry.register(
            metrics.OutboxBacklog(lambda: outbox.backlog(list(outbox_collections)))
        )
    for collector in collectors:
        metrics_registry.register(collector)
    app = Flask(service)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        PUBLIC_URL=settings.public_url(service),
        API_TITLE=title,
        API_VERSION="1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/static/swagger-ui/",
    )
    if key_scheme and key_for_every_operation:
        app.config["API_SPEC_OPTIONS"] = {"security": [{key_scheme[0]: []}]}
    api = Api(app, spec_kwargs={"marshmallow_plugin": _ProblemDocuments(_schema_name)})
    if key_scheme:
        name, description = key_scheme
        api.spec.components.security_scheme(
            name, {"type": "http", "scheme": "bearer", "description": description}
        )
    problems.register(app)
    app.register_error_handler(PyMongoError, database_unavailable)
    app.wsgi_app = _DatabaseDeadline(app.wsgi_app, db.client, settings.request_database_seconds)
    app.wsgi_app = _Traced(app.wsgi_app)
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
        method = metrics.method_label(request.method)
        metrics.HTTP_REQUESTS.labels(service, method, route, response.status_code).inc()
        metrics.HTTP_LATENCY.labels(service, method, route).observe(elapsed)
        tracing.describe_request(method, route, response.status_code)
        response.headers["X-Request-Id"] = g.get("request_id", "")
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if route not in ("/metrics", "/healthz", "/readyz"):
            log.info(
                "request answered",
                extra={
                    "method": method,
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


def register_api(
    app: Flask,
    api: Api,
    blueprint: Blueprint,
    holders: KeyHolders,
    kind: str,
    open_reads: bool = False,
) -> None:
    """Register an API blueprint behind its callers' API keys (see `key_check`), before
    any of its own request functions run; a write's body, if any, must be one JSON
    object (`require_json_object`)."""
    api.register_blueprint(blueprint)
    first = [key_check(holders, kind, f"familyties-{app.name}", open_reads), _writes_carry_json]
    app.before_request_funcs.setdefault(blueprint.name, [])[:0] = first


def _writes_carry_json() -> None:
    if request.method in WRITES and (request.content_length or request.mimetype):
        require_json_object()


WRITES = ("POST", "PUT", "PATCH", "DELETE")


class _Traced:
    """Each request in a span of its own, a child of the client's `traceparent` header (a
    partner's system following its referral), or the root of a new trace without one: the
    events the request makes, and every log line, carry its trace id."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = metrics.method_label(environ.get("REQUEST_METHOD", ""))
        with tracing.span(method, environ.get("HTTP_TRACEPARENT"), SpanKind.SERVER):
            return self.wsgi_app(environ, start_response)


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


class _ProblemDocuments(MarshmallowPlugin):
    """Documents each error answer as what `problems` sends: a problem document in
    application/problem+json, not flask-smorest's own error schema in application/json."""

    def response_helper(self, response: dict, **kwargs: Any) -> dict:
        content = response.get("content", {})
        if content.get("application/json", {}).get("schema") is Api.ERROR_SCHEMA:
            response["content"] = {problems.PROBLEM_JSON: {"schema": problems.ProblemSchema}}
        return super().response_helper(response, **kwargs)


def _schema_name(schema: Schema | type[Schema]) -> str:
    """OpenAPI names schemas after their class; a partial one (PATCH) is '...Patch'."""
    name = resolver(schema)
    return f"{name}Patch" if isinstance(schema, Schema) and schema.partial else name


def require_json_object() -> None:
    """A body that is not one JSON object is refused before any schema reads it, as is one
    whose meaning is unclear: a key given twice (which value was meant?) or a string no
    UTF-8 encoder accepts (a lone surrogate, such as "\\ud800")."""
    if request.mimetype != "application/json":
        raise Problem(415, "Unsupported media type", "Send the body as application/json.")
    try:
        body = json.loads(request.get_data(cache=True), object_pairs_hook=_without_repeats)
    except _RepeatedKey as repeated:
        raise Problem(400, "Malformed JSON", f"The key '{repeated}' is given twice.") from None
    except (ValueError, RecursionError):  # RecursionError: nested beyond any real document
        body = None
    if not isinstance(body, dict):
        raise Problem(400, "Malformed JSON", "The body must be one JSON object.")
    unreadable = [
        {"pointer": pointer, "detail": "Must be valid Unicode text (it holds a lone surrogate)."}
        for pointer in _pointers_to_lone_surrogates(body)
    ]
    if unreadable:
        raise Problem(422, "The request has invalid fields", errors=unreadable)


class _RepeatedKey(ValueError):
    pass


def _without_repeats(pairs: list[tuple[str, object]]) -> dict[str, object]:
    found: dict[str, object] = {}
    for key, value in pairs:
        if key in found:
            raise _RepeatedKey(key)
        found[key] = value
    return found


def _pointers_to_lone_surrogates(body: dict) -> Iterator[str]:
    """The JSON Pointer of every key or string in `body` that holds a lone surrogate."""
    stack: list[tuple[str, object]] = [("", body)]
    while stack:
        pointer, value = stack.pop()
        if isinstance(value, str) and has_lone_surrogate(value):
            yield pointer or "/"
        elif isinstance(value, dict):
            for key, item in value.items():
                if has_lone_surrogate(key):
                    yield pointer or "/"
                else:
                    stack.append((problems.child(pointer, key), item))
        elif isinstance(value, list):
            stack.extend((problems.child(pointer, i), item) for i, item in enumerate(value))


NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"


def serve_node_package(app: Flask, url_prefix: str, *package_dirs: str) -> None:
    """Serve files of npm packages installed by the make targets: no CDN is needed. With
    several packages, a file is looked for in each in turn."""
    roots = [NODE_MODULES / package_dir for package_dir in package_dirs]
    endpoint = "asset_" + url_prefix.strip("/").replace("/", "_").replace("-", "_")

    def asset(filename: str):
        for root in roots[:-1]:
            path = safe_join(str(root), filename)  # None for a path that leaves root
            if path and Path(path).is_file():
                return send_from_directory(root, filename, max_age=3600)
        return send_from_directory(roots[-1], filename, max_age=3600)

    app.add_url_rule(f"{url_prefix}/<path:filename>", endpoint, asset)
