"""Settings from the environment, with embedded defaults (SQLite under ./var, no servers)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    database_url: str = field(
        default_factory=lambda: os.environ.get("GOVFLOW_DATABASE_URL", f"sqlite:///{REPO_ROOT / 'var' / 'govflow.db'}")
    )
    processes_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("GOVFLOW_PROCESSES_DIR", REPO_ROOT / "processes"))
    )
    forms_dir: Path = field(default_factory=lambda: Path(os.environ.get("GOVFLOW_FORMS_DIR", REPO_ROOT / "forms")))
    # 第二十一条 asks for national cryptography: SM3 where OpenSSL offers it.
    audit_hash: str = field(default_factory=lambda: os.environ.get("GOVFLOW_AUDIT_HASH", "sha256"))
    timezone: str = field(default_factory=lambda: os.environ.get("GOVFLOW_TIMEZONE", "Asia/Shanghai"))
    workflow_cache_size: int = field(default_factory=lambda: int(os.environ.get("GOVFLOW_WORKFLOW_CACHE", "2000")))


def load_settings() -> Settings:
    return Settings()
