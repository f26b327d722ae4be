"""Per request: the request id (X-Request-ID, accepted when sane, else generated; always returned),
one access log line (route template, status, duration, user id — never the raw path or query,
which can carry names), and the latency histogram by URL rule and status. Installed first among
the before-request hooks, so a request refused by authentication is timed and logged too."""
from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from service.observability import correlation, metrics

access_log = logging.getLogger("govflow.http.access")


def route() -> str:
    rule = request.url_rule
    # Unmatched paths (404s, scanners) share one label: raw paths would grow the series without bound.
    return rule.rule if rule is not None else "<unmatched>"


def _start() -> None:
    g._govflow_started = time.perf_counter()
    rid = correlation.sane(request.headers.get(correlation.HEADER)) or correlation.new_id()
    g.request_id = rid
    g._govflow_rid_token = correlation.bind(rid)


def _finish(response: Response) -> Response:
    started = g.pop("_govflow_started", None)
    rid = g.get("request_id")
    if rid:
        response.headers[correlation.HEADER] = rid
    if started is None:
        return response
    seconds = time.perf_counter() - started
    path_rule = route()
    metrics.HTTP_REQUEST_SECONDS.labels(method=request.method, route=path_rule,
                                        status=str(response.status_code)).observe(seconds)
    user = g.get("user")
    user_id = getattr(user, "id", None)
    ms = round(seconds * 1000, 2)
    access_log.info("%s %s %s %.1f ms user %s", request.method, path_rule, response.status_code, ms, user_id,
                    extra={"method": request.method, "route": path_rule, "status": response.status_code,
                           "duration_ms": ms, "user_id": user_id})
    return response


def _teardown(_exc: BaseException | None) -> None:
    token = g.pop("_govflow_rid_token", None)
    if token is not None:
        try:
            correlation.reset(token)
        except ValueError:  # reset from another context (streamed response): nothing to undo here
            pass


def init_app(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    app.teardown_request(_teardown)
