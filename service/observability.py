"""Request ids, structured (JSON) access logs and Prometheus metrics.

Every request gets an id (the client's ``X-Request-ID`` when it is a short token, else a new
one), echoed in the response header and in one JSON log line: method, route template, status,
duration, caller key id. ``/metrics`` exposes request counts and latencies per route and
status, and the encoder / index / reranker versions being served, in Prometheus' text format.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from .auth import Staff

access_log = logging.getLogger("matcher.ops.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class JsonFormatter(logging.Formatter):
    """One JSON object per log record (fields of ``extra={"fields": {...}}`` merged in)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_json_logging(level: int = logging.INFO) -> None:
    """Send the service's logs to stderr as JSON lines (called by ``matcher serve``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)


class Metrics:
    """The service's Prometheus registry (one per app, so that tests do not share counters)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("matcher_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "matcher_request_seconds", "HTTP request latency", ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry
        )
        self.in_flight = Gauge("matcher_requests_in_flight", "Requests being served", registry=self.registry)
        self.versions = Gauge(
            "matcher_model_info", "Versions being served (value 1)", ["encoder", "index", "reranker"], registry=self.registry
        )
        self.suppliers = Gauge("matcher_suppliers", "Suppliers in the served index", registry=self.registry)
        self.cache = Gauge(
            "matcher_vector_cache_lookups",
            "Texts looked up in the vector cache since start (result: hit or miss)",
            ["result"],
            registry=self.registry,
        )

    def render(self, engine) -> bytes:
        self.versions.clear()
        if engine is not None:
            v = engine.versions()
            self.versions.labels(v["encoder"], v["index"], v["reranker"]).set(1)
            self.suppliers.set(len(engine.corpus))
            cache = getattr(engine.ranker.encoder, "cache", None)
            if cache is not None:
                self.cache.labels("hit").set(cache.hits)
                self.cache.labels("miss").set(cache.misses)
        return generate_latest(self.registry)


def _route_template(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", None) or "unmatched"


def install(app: FastAPI) -> None:
    """Add the request-id / access-log / metrics middleware and the ``/metrics`` route."""
    metrics = Metrics()
    app.state.metrics = metrics

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        given = request.headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        request.state.request_id = request_id
        start = time.perf_counter()
        metrics.in_flight.inc()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
        finally:
            metrics.in_flight.dec()
            elapsed = time.perf_counter() - start
            route = _route_template(request)
            metrics.requests.labels(request.method, route, str(status)).inc()
            metrics.latency.labels(request.method, route).observe(elapsed)
            key = request.headers.get("authorization", "").removeprefix("Bearer ").strip() or request.headers.get("x-api-key", "")
            access_log.info(
                "%s %s %s",
                request.method,
                route,
                status,
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": request.method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "key_id": key[3:15] if key.startswith("mk_") else None,
                    }
                },
            )
        response.headers["X-Request-ID"] = request_id
        return response

    @app.get("/metrics", include_in_schema=False)
    def prometheus(request: Request, principal: Staff) -> Response:
        """Prometheus metrics (staff or admin key: counts and versions are not public)."""
        served = getattr(request.app.state, "served", None)
        return Response(metrics.render(served.engine if served is not None else None), media_type=CONTENT_TYPE_LATEST)
