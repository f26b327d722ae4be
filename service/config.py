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
    # The audit MAC key is never in the database (docs/audit.md): "ID:SECRET[,ID:SECRET…]" (first one
    # signs, all verify), or a file of such lines; neither set: var/audit.key, generated 0600.
    audit_key: str = field(default_factory=lambda: os.environ.get("GOVFLOW_AUDIT_KEY", ""))
    audit_key_file: str = field(default_factory=lambda: os.environ.get("GOVFLOW_AUDIT_KEY_FILE", ""))
    # A signed checkpoint is written with every N-th record of a chain (0: only by the periodic task).
    audit_checkpoint_every: int = field(
        default_factory=lambda: int(os.environ.get("GOVFLOW_AUDIT_CHECKPOINT_EVERY", "50")))
    timezone: str = field(default_factory=lambda: os.environ.get("GOVFLOW_TIMEZONE", "Asia/Shanghai"))
    workflow_cache_size: int = field(default_factory=lambda: int(os.environ.get("GOVFLOW_WORKFLOW_CACHE", "2000")))
    # Sessions and sign-in (docs/security.md): a browser session ends after this idle time or at
    # its absolute lifetime; failed sign-ins lock an account (address) past the limit in the window.
    session_idle_minutes: int = field(
        default_factory=lambda: int(os.environ.get("GOVFLOW_SESSION_IDLE_MINUTES", "480")))
    session_max_hours: int = field(default_factory=lambda: int(os.environ.get("GOVFLOW_SESSION_MAX_HOURS", "24")))
    login_max_failures: int = field(default_factory=lambda: int(os.environ.get("GOVFLOW_LOGIN_MAX_FAILURES", "5")))
    login_address_max_failures: int = field(
        default_factory=lambda: int(os.environ.get("GOVFLOW_LOGIN_ADDRESS_MAX_FAILURES", "30")))
    login_window_minutes: int = field(default_factory=lambda: int(os.environ.get("GOVFLOW_LOGIN_WINDOW_MINUTES", "15")))
    login_lock_minutes: int = field(default_factory=lambda: int(os.environ.get("GOVFLOW_LOGIN_LOCK_MINUTES", "15")))


def load_settings() -> Settings:
    return Settings()
