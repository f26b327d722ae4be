"""Sessions are signed with a real key outside the embedded demo (docs/deploy-image.md)."""
from __future__ import annotations

import pytest

from service.http import secret_key

PG = "postgresql+psycopg://govflow@db/govflow"


@pytest.mark.parametrize("value", ["", "change-me", "CHANGE-ME", "short-but-not-a-placeholder"])
def test_production_refuses_a_missing_placeholder_or_short_key(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("GOVFLOW_SECRET_KEY", value)
    with pytest.raises(secret_key.InsecureSecretKey, match="GOVFLOW_SECRET_KEY"):
        secret_key.resolve(None, PG)


def test_production_takes_a_real_key_and_code_may_pass_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVFLOW_SECRET_KEY", "k" * 32)
    assert secret_key.resolve(None, PG) == "k" * 32
    monkeypatch.delenv("GOVFLOW_SECRET_KEY")
    assert secret_key.resolve("from-code", PG) == "from-code"


def test_the_embedded_demo_generates_a_random_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOVFLOW_SECRET_KEY", raising=False)
    first, second = secret_key.resolve(None, "sqlite:///var/govflow.db"), secret_key.resolve(None, "sqlite://")
    assert len(first) == 64 and first != second
