"""DMN decisions evaluated outside a businessRuleTask (service/engine/decisions.py): the shipped
opinion tables (docs/opinions.md) give the outcomes the reading of the measures chose."""
from __future__ import annotations

from pathlib import Path

import pytest

from service.domain.errors import ProcessError
from service.engine.decisions import Decisions
from service.engine.scripting import SandboxedScriptEngine

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
AGREE = {"review_bigdata": "同意", "review_cac": "同意", "review_police": "同意", "review_crypto": "同意"}


@pytest.fixture(scope="module")
def tables() -> Decisions:
    sources = {p.name: p.read_text(encoding="utf-8") for p in PROCESSES.iterdir() if p.suffix == ".dmn"}
    return Decisions(sources, SandboxedScriptEngine())


@pytest.mark.parametrize(("result", "said", "verdict", "article"), [
    ("通过", {}, "允许", "第七条(三)"),
    ("通过", {"review_police": "修改后同意"}, "允许", "第七条(三)"),
    ("通过", {"review_cac": "不同意", "review_police": "不同意"}, "须说明理由", "第七条(三)"),
    ("通过", {"review_bigdata": "不同意"}, "须说明理由", "第七条(三)"),
    ("通过", {"review_police": "不同意", "review_crypto": "不同意"}, "不得通过", "第五条"),
    ("修改后重审", {"review_crypto": "不同意"}, "允许", "第七条(三)"),
    ("不通过", {"review_cac": "不同意"}, "允许", "第七条(三)"),
])
def test_plan_review_outcome(tables, result, said, verdict, article):  # type: ignore[no-untyped-def]
    out = tables.evaluate("plan_review_outcome", {"plan_review_result": result, **AGREE, **said})
    assert (out["verdict"], out["article"]) == (verdict, article)
    assert out["basis"].startswith(article.split("(")[0])


@pytest.mark.parametrize(("decision", "finance", "verdict"), [
    ("入库", "同意入库", "允许"), ("入库", "不同意入库", "须说明理由"), ("入库", "建议退回修改", "须说明理由"),
    ("退回修改", "不同意入库", "允许"), ("不予入库", "不同意入库", "允许"),
])
def test_preliminary_outcome(tables, decision, finance, verdict):  # type: ignore[no-untyped-def]
    out = tables.evaluate("preliminary_outcome",
                          {"preliminary_decision": decision, "preliminary_review_finance": finance})
    assert out["verdict"] == verdict


def test_a_name_the_table_reads_but_nobody_gave_is_a_process_error(tables):  # type: ignore[no-untyped-def]
    assert tables.has("plan_review_outcome") and tables.has("change_rule_13") and not tables.has("no_such")
    with pytest.raises(ProcessError) as err:
        tables.evaluate("preliminary_outcome", {"preliminary_decision": "入库"})
    assert "preliminary_review_finance" in err.value.message
