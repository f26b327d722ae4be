"""OpenAPI 3 from the code: each view declares its summary, parameters, body and responses with
@api(...); the document is built from the URL map, so it cannot drift from the routes."""
from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from flask import Flask

MAX_ID = 2**31 - 1
ERROR = {"$ref": "#/components/schemas/Error"}
_STATUS_TEXT = {200: "成功", 201: "已创建", 400: "请求格式错误", 401: "未登录", 403: "无权限", 404: "不存在",
                409: "冲突", 413: "文件过大", 422: "数据不符合要求或规则不允许"}


def api(summary: str, *, tag: str, body: dict[str, Any] | None = None, multipart: dict[str, Any] | None = None,
        query: list[dict[str, Any]] | None = None, responses: dict[int, Any] | None = None,
        public: bool = False, produces: str = "application/json") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.api_doc = {"summary": summary, "tag": tag, "body": body, "multipart": multipart,  # type: ignore[attr-defined]
                      "query": query or [], "responses": responses or {200: None}, "public": public,
                      "produces": produces}
        return fn
    return mark


def q(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def obj(properties: dict[str, Any], required: list[str] | None = None, extra: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": extra}
    if required:
        out["required"] = required
    return out


_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def build(app: Flask) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        doc = getattr(view, "api_doc", None)
        if doc is None or not rule.rule.startswith("/api"):
            continue
        params = []
        for conv, name in _CONVERTER.findall(rule.rule):
            schema = ({"type": "integer", "minimum": 1, "maximum": MAX_ID} if conv == "id"
                      else {"type": "integer", "minimum": 2000, "maximum": 2100} if conv == "year"
                      else {"type": "string"})
            params.append({"name": name, "in": "path", "required": True, "schema": schema})
        path = _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {"summary": doc["summary"], "tags": [doc["tag"]],
                                  "operationId": f"{rule.endpoint}_{method.lower()}".replace(".", "_"),
                                  "parameters": params + doc["query"], "responses": {}}
            if doc["public"]:
                op["security"] = []
            if doc["body"] is not None:
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": doc["body"]}}}
            if doc["multipart"] is not None:
                op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": doc["multipart"]}}}
            for status, schema in doc["responses"].items():
                content_type = doc["produces"] if status < 300 else "application/json"
                entry: dict[str, Any] = {"description": _STATUS_TEXT.get(status, str(status))}
                entry["content"] = {content_type: {"schema": schema if schema is not None else (
                    ERROR if status >= 400 else {})}}
                op["responses"][str(status)] = entry
            for status in (400, 401, 403, 404, 409, 413, 422):
                op["responses"].setdefault(str(status), {"description": _STATUS_TEXT[status],
                                                         "content": {"application/json": {"schema": ERROR}}})
            if doc["public"]:
                op["responses"].pop("401", None)
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "govflow 东营市政务数字化项目流程服务 API", "version": "1.0",
                 "description": "错误响应统一为 {error: {code, message, article?, field?, "
                                "errors?: [{path, message}]}}。"},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
            "schemas": {"Error": obj({"error": obj({
                "code": {"type": "string"}, "message": {"type": "string"}, "article": {"type": "string"},
                "field": {"type": "string"},
                "errors": {"type": "array", "items": obj({"path": {"type": "string"}, "message": {"type": "string"}},
                                                          ["path", "message"])},
                "details": {}}, ["code", "message"], extra=True)}, ["error"])},
        },
        "security": [{"bearer": []}, {"session": []}],
    }


def docs_page(doc: dict[str, Any]) -> str:
    """A self-contained page listing every operation, its parameters and body schema: no CDN, so
    it works on the government extranet."""
    rows = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            params = ", ".join(f"{p['name']} ({p['in']})" for p in op.get("parameters", []))
            body = op.get("requestBody", {}).get("content", {})
            kind = next(iter(body), "")
            codes = " ".join(sorted(op["responses"]))
            rows.append(f"<tr><td class=m>{method.upper()}</td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(op['summary'])}</td><td>{html.escape(params)}</td>"
                        f"<td>{html.escape(kind)}</td><td>{codes}</td></tr>")
    return ("<!doctype html><html lang=zh-CN><meta charset=utf-8><title>govflow API 文档</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.m{font-weight:bold}</style>"
            f"<h1>{html.escape(doc['info']['title'])}</h1><p>{html.escape(doc['info']['description'])}</p>"
            "<p>机器可读文档：<a href=/api/openapi.json>/api/openapi.json</a>。认证：POST /api/auth/login 取得令牌，"
            "请求头 <code>Authorization: Bearer 令牌</code>。</p>"
            "<table><tr><th>方法</th><th>路径</th><th>说明</th><th>参数</th><th>请求体</th><th>状态码</th></tr>"
            + "".join(rows) + "</table></html>")
