"""Hostile input through the API never hangs, reaches out, or becomes a 500 (docs/hostile-input.md):
form schemas ($ref, patterns), BPMN/DMN XML (DOCTYPE/entities, declared encodings), JSON bodies
(NaN, lone surrogates, deep nesting) and CSV exports. Every test runs on SQLite and PostgreSQL."""
from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from werkzeug.serving import make_server

from service.config import REPO_ROOT
from service.scenario import Driver

PROCESSES = REPO_ROOT / "processes"


def _declaration_data(ctx: Any, **overrides: Any) -> dict[str, Any]:
    return Driver(ctx).answer("declaration", {"budget_year": 2027, "participants": [], **overrides})


def _raw(api: Any, user: str, url: str, body: str, method: str = "post") -> Any:
    return getattr(api.as_(user), method)(url, data=body.encode("utf-8"), content_type="application/json")


# -- JSON bodies ----------------------------------------------------------------------------------------

def test_non_finite_and_out_of_range_numbers_are_400_with_the_field(api, ctx):
    template = json.dumps({"data": _declaration_data(ctx)}, ensure_ascii=False)
    for literal in ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" * 101]:
        body = template.replace('"investment_estimate": ', f'"investment_estimate": {literal}, "x": ', 1)
        r = _raw(api, "edu", "/api/projects", body)
        assert r.status_code == 400, (literal, r.json)
        err = r.json["error"]
        assert err["code"] == "bad_request" and err["field"] == "data/investment_estimate"
        assert "超出允许范围" in err["message"] and err["errors"][0]["path"] == "data/investment_estimate"


def test_large_finite_amount_is_a_form_error_not_a_500(api, ctx):
    # 1e300 is finite JSON: the form's exact multipleOf must not raise on it (Decimal % would). The
    # form sets no maximum, so SQLite stores it and PostgreSQL's numeric column refuses it (400).
    r = api.as_("edu").post("/api/projects", json={"data": _declaration_data(ctx, investment_estimate=1e300)})
    assert r.status_code in (201, 400), r.json
    if r.status_code == 400:
        assert r.json["error"]["message"] == "请求中的数值或文本超出允许范围"


def test_lone_surrogates_and_nul_are_400_with_the_path(api):
    for body, field in [('{"data": {"project_name": "a\\ud800b"}}', "data/project_name"),
                        ('{"data": {"project_name": "\\udfff"}}', "data/project_name"),
                        ('{"data": {"k\\ud800": 1}}', "data/k\\ud800"),
                        ('{"data": {"rows": [{"x": 1}, {"x": "\\ud83d"}]}}', "data/rows/1/x"),
                        ('{"data": {"project_name": "a\\u0000b"}}', "data/project_name")]:
        r = _raw(api, "edu", "/api/projects", body)
        assert r.status_code == 400, (body, r.json)
        assert r.json["error"]["field"] == field and r.json["error"]["message"].startswith(field + "：")


def test_paired_surrogates_are_a_normal_character(api, ctx):
    data = _declaration_data(ctx, project_name="智慧教育平台\U0001F600")
    body = json.dumps({"data": data})  # ensure_ascii: the emoji travels as "\ud83d\ude00"
    assert "\\ud83d\\ude00" in body
    r = _raw(api, "edu", "/api/projects", body)
    assert r.status_code == 201, r.json
    assert api.as_("edu").get(f"/api/projects/{r.json['project_id']}").json["name"].endswith("\U0001F600")


def test_deep_nesting_is_400_without_recursion(api):
    for depth, (open_, close) in itertools.product((65, 500, 10_000), (("[", "]"), ('{"a":', "}"))):
        body = '{"data": {"project_name": ' + open_ * depth + "1" + close * depth + "}}"
        r = _raw(api, "edu", "/api/projects", body)
        assert r.status_code == 400, r.json
        assert "嵌套层数超过 64 层" in r.json["error"]["message"]


def test_nesting_within_the_limit_reaches_form_validation(api):
    body = '{"data": {"project_name": ' + "[" * 60 + "]" * 60 + "}}"
    r = _raw(api, "edu", "/api/projects", body)
    assert r.status_code == 422 and r.json["error"]["code"] == "validation_failed"


def test_brackets_inside_strings_do_not_count_as_nesting(api, ctx):
    r = api.as_("edu").post("/api/projects", json={"data": _declaration_data(ctx, project_name="[" * 90 + "{" * 9)})
    assert r.status_code == 201, r.json


def test_hostile_bodies_on_other_endpoints(api):
    assert _raw(api, "designer", "/api/forms/declaration/validate", '{"schema": {"maximum": NaN}}').status_code == 400
    assert _raw(api, "designer", "/api/processes", '{"files": {"a\\udc00.bpmn": "x"}}').status_code == 400
    assert _raw(api, "edu", "/api/auth/login", '{"username": "\\ud800", "password": "x"}').status_code == 400
    assert _raw(api, "edu", "/api/projects", "\xff\xfe{}").status_code == 400


# -- form schemas: $ref ---------------------------------------------------------------------------------

@contextmanager
def _silent_listener() -> Iterator[tuple[int, list[socket.socket]]]:
    """A loopback listener that accepts and never answers: a fetch would hang on it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        server.close()


def _with_ref(api: Any, ref: str) -> dict[str, Any]:
    schema = copy.deepcopy(api.as_("edu").get("/api/forms/declaration").json["schema"])
    schema["properties"]["project_name"] = {"$ref": ref}
    return schema


def test_ref_to_the_network_is_refused_without_a_connection(api):
    with _silent_listener() as (port, accepted):
        ref = f"http://127.0.0.1:{port}/schema.json"
        started = time.monotonic()
        r = api.as_("designer").put("/api/forms/declaration", json={"schema": _with_ref(api, ref)})
        assert r.status_code == 422, r.json
        issues = {i["path"]: i["message"] for i in r.json["error"]["issues"]}
        assert ref in issues["schema/properties/project_name/$ref"]
        v = api.as_("designer").post("/api/forms/declaration/validate", json={"schema": _with_ref(api, ref)})
        assert v.status_code == 200 and v.json["valid"] is False
        assert time.monotonic() - started < 5  # the silent listener would have held it 20 s
        time.sleep(0.2)
        assert accepted == []


@pytest.mark.parametrize("ref", ["file:///etc/passwd", "/etc/passwd", "../../etc/passwd", "file:///etc/hostname#/a"])
def test_ref_to_local_files_is_refused_alike_whether_or_not_they_exist(api, ref):
    r = api.as_("designer").put("/api/forms/declaration", json={"schema": _with_ref(api, ref)})
    missing = api.as_("designer").put("/api/forms/declaration",
                                      json={"schema": _with_ref(api, ref.replace("etc", "no-such-dir"))})
    assert r.status_code == missing.status_code == 422
    message = {i["path"]: i["message"] for i in r.json["error"]["issues"]}["schema/properties/project_name/$ref"]
    other = {i["path"]: i["message"] for i in missing.json["error"]["issues"]}["schema/properties/project_name/$ref"]
    assert ref[:200] in message and "root:" not in json.dumps(r.json)
    assert message.replace(ref, "") == other.replace(ref.replace("etc", "no-such-dir"), "")  # no existence oracle


def test_refs_inside_the_form_and_to_forms_directory_are_allowed(api, ctx):
    schema = copy.deepcopy(api.as_("edu").get("/api/forms/declaration").json["schema"])
    schema["properties"]["opinion"] = {"$ref": "govflow:forms/preliminary_review#/properties/opinion"}
    schema["$defs"] = {"name": {"type": "string", "minLength": 1, "maxLength": 100}}
    schema["properties"]["project_leader"] = {"$ref": "#/$defs/name", "title": "项目负责人"}
    r = api.as_("designer").put("/api/forms/declaration", json={"schema": schema})
    assert r.status_code == 200, r.json
    declared = api.as_("edu").post("/api/projects", json={"data": _declaration_data(ctx, project_leader="",
                                                                                     opinion=5)})
    assert declared.status_code == 422
    assert {e["path"] for e in declared.json["error"]["errors"]} == {"project_leader", "opinion"}


def test_ref_cycle_is_refused_at_save(api):
    schema = _with_ref(api, "#/$defs/loop")
    schema["$defs"] = {"loop": {"allOf": [{"$ref": "#/$defs/loop"}]}}
    r = api.as_("designer").put("/api/forms/declaration", json={"schema": schema})
    assert r.status_code == 422
    assert any("循环" in i["message"] for i in r.json["error"]["issues"])


# -- form schemas: patterns -----------------------------------------------------------------------------

HOSTILE = "^(a+)+$"


@contextmanager
def _served(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def _call(base: str, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            status, payload = resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, json.loads(exc.read())
    return status, payload, time.monotonic() - started


def test_hostile_pattern_does_not_freeze_other_requests(app, api):
    """Python's re needs about 2^n steps for "a"*n + "!" against ^(a+)+$ (n=32: about a minute, holding
    the GIL); RE2 is linear. Several hostile validations run in threads of a real server while another
    user reads a form."""
    schema = copy.deepcopy(api.as_("edu").get("/api/forms/declaration").json["schema"])
    schema["properties"]["project_name"]["pattern"] = HOSTILE
    schema["properties"]["opinion"]["pattern"] = HOSTILE
    schema["examples"][0]["project_name"] = "a" * 32 + "!"
    schema["examples"][0]["opinion"] = "a" * 60_000 + "!"
    schema["properties"]["opinion"].pop("maxLength", None)
    with _served(app) as base:
        results: list[tuple[int, Any, float]] = []
        hostile = [threading.Thread(target=lambda: results.append(_call(
            base, api.tokens["designer"], "POST", "/api/forms/declaration/validate", {"schema": schema})))
            for _ in range(4)]
        for t in hostile:
            t.start()
        status, form, elapsed = _call(base, api.tokens["finance"], "GET", "/api/forms/declaration")
        for t in hostile:
            t.join(120)
    assert status == 200 and form["name"] == "declaration"
    assert elapsed < 10, elapsed
    assert len(results) == 4
    for code, body, took in results:
        assert code == 200 and body["valid"] is False and took < 10, (code, took)
        paths = {i["path"] for i in body["issues"]}
        assert {"schema/examples/0/project_name", "schema/examples/0/opinion"} <= paths


def test_saved_hostile_pattern_is_matched_in_linear_time_on_declaration(api, ctx):
    schema = copy.deepcopy(api.as_("edu").get("/api/forms/declaration").json["schema"])
    schema["properties"]["project_name"]["pattern"] = HOSTILE
    schema["examples"][0]["project_name"] = "aaa"
    r = api.as_("designer").put("/api/forms/declaration", json={"schema": schema})
    assert r.status_code == 200, r.json
    started = time.monotonic()
    declared = api.as_("edu").post("/api/projects", json={"data": _declaration_data(ctx, project_name="a" * 40 + "!")})
    assert declared.status_code == 422 and time.monotonic() - started < 10
    assert {"path": "project_name", "message": "项目名称：格式不正确"} in declared.json["error"]["errors"]
    ok = api.as_("edu").post("/api/projects", json={"data": _declaration_data(ctx, project_name="a" * 40)})
    assert ok.status_code == 201, ok.json


@pytest.mark.parametrize(("where", "pattern", "path"), [
    ("pattern", r"^(a)\1$", "schema/properties/project_name/pattern"),
    ("pattern", "(?=a)a", "schema/properties/project_name/pattern"),
    ("patternProperties", "(?<!x)y", "schema/properties/project_name/patternProperties/(?<!x)y"),
])
def test_patterns_re2_cannot_run_are_refused_with_the_path(api, where, pattern, path):
    schema = copy.deepcopy(api.as_("edu").get("/api/forms/declaration").json["schema"])
    if where == "pattern":
        schema["properties"]["project_name"]["pattern"] = pattern
    else:
        schema["properties"]["project_name"] = {"type": "object", "patternProperties": {pattern: {}}}
    r = api.as_("designer").put("/api/forms/declaration", json={"schema": schema})
    assert r.status_code == 422, r.json
    issues = {i["path"]: i["message"] for i in r.json["error"]["issues"]}
    assert path in issues and "RE2" in issues[path] and pattern in issues[path]


# -- BPMN/DMN through the API -------------------------------------------------------------------------

def _bundle_texts() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(PROCESSES.iterdir()) if p.suffix in (".bpmn", ".dmn")}


def test_xxe_and_billion_laughs_are_422_and_leak_nothing(api):
    files = _bundle_texts()
    bpmn = files["lifecycle.bpmn"].replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', 1)
    bpmn = bpmn.replace("<bpmn:documentation>", "<bpmn:documentation>&xxe;", 1)
    laughs = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
              + "".join(f'<!ENTITY a{i} "{("&a;" if i == 1 else f"&a{i - 1};") * 10}">' for i in range(1, 10))
              + ']><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="x">&a9;'
                "</bpmn:definitions>")
    for name, text in (("lifecycle.bpmn", bpmn), ("change_rule.dmn", laughs)):
        bundle = {**files, name: text}
        r = api.as_("designer").post("/api/processes", json={"files": bundle})
        assert r.status_code == 422, r.json
        assert any("DOCTYPE" in i["message"] and i["file"] == name for i in r.json["error"]["issues"])
        assert "root:" not in json.dumps(r.json)
        upload = {"files": [(io.BytesIO(t.encode()), n) for n, t in bundle.items()]}
        m = api.as_("designer").post("/api/processes", data=upload, content_type="multipart/form-data")
        assert m.status_code == 422


def test_gbk_bundle_validates_deploys_and_is_stored_as_text(api):
    files = _bundle_texts()
    gbk = files["lifecycle.bpmn"].replace('encoding="UTF-8"', 'encoding="GBK"', 1)
    gbk = gbk.replace("</bpmn:definitions>", "<!-- GBK 编码 -->\n</bpmn:definitions>")
    # Every DMN of the bundle goes along: lifecycle.bpmn's opinion_rule names two of them (docs/opinions.md).
    upload = {"files": [(io.BytesIO(gbk.encode("gbk")), "lifecycle.bpmn"),
                        *[(io.BytesIO(t.encode()), n) for n, t in files.items() if n.endswith(".dmn")]]}
    designer = api.as_("designer")
    v = designer.post("/api/processes/validate", data=copy.deepcopy(upload), content_type="multipart/form-data")
    assert v.status_code == 200 and v.json == {"valid": True, "issues": []}, v.json
    upload = {"files": [(io.BytesIO(gbk.encode("gbk")), "lifecycle.bpmn"),
                        *[(io.BytesIO(t.encode()), n) for n, t in files.items() if n.endswith(".dmn")]]}
    r = designer.post("/api/processes", data=upload, content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    stored = designer.get(f"/api/processes/{r.json['id']}").json["files"]["lifecycle.bpmn"]
    assert "<!-- GBK 编码 -->" in stored and "建设单位" in stored
    assert stored.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    # The stored text goes back as JSON (what the modeler does) and deploys as the same document.
    again = designer.post("/api/processes", json={"files": {
        **{n: t for n, t in files.items() if n.endswith(".dmn")},
        "lifecycle.bpmn": stored.replace("<!-- GBK 编码 -->", "<!-- v3 -->")}})
    assert again.status_code == 201, again.json
    # Text that still declares GBK, sent as JSON, is read as the text it is.
    as_text = designer.post("/api/processes/validate", json={"files": {**files, "lifecycle.bpmn": gbk}})
    assert as_text.status_code == 200 and as_text.json["valid"] is True, as_text.json


# -- CSV export -----------------------------------------------------------------------------------------

def test_register_csv_neutralises_formulas_behind_whitespace(api, ctx):
    names = ["\t=cmd|' /C calc'!A0", "\r=HYPERLINK(\"http://x\")", " =1+1", "\u3000+1", "\n@SUM(A1)", "＝1+1",
             "-2+3", "\u200b=1"]
    for name in [*names, "普通项目 = 2"]:
        r = api.as_("edu").post("/api/projects", json={"data": _declaration_data(ctx, project_name=name)})
        assert r.status_code == 201, r.json
    text = api.as_("edu").get("/api/projects/export.csv").get_data(as_text=True).lstrip("\ufeff")
    cells = [row["项目名称"] for row in csv.DictReader(io.StringIO(text))]
    for name in names:
        assert "'" + name in cells, (name, cells)
    assert "普通项目 = 2" in cells  # a formula sign later in the text is no formula
