"""Channel settings from the environment (read when used, so workers pick up their own env)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class ChannelSettings:
    smtp_host: str = field(default_factory=lambda: _env("GOVFLOW_SMTP_HOST"))
    smtp_port: int = field(default_factory=lambda: int(_env("GOVFLOW_SMTP_PORT", "25")))
    smtp_from: str = field(default_factory=lambda: _env("GOVFLOW_SMTP_FROM", "govflow@dongying.gov.cn"))
    smtp_user: str = field(default_factory=lambda: _env("GOVFLOW_SMTP_USER"))
    smtp_password: str = field(default_factory=lambda: _env("GOVFLOW_SMTP_PASSWORD"))
    smtp_starttls: bool = field(default_factory=lambda: _env("GOVFLOW_SMTP_STARTTLS", "0") == "1")
    webhook_url: str = field(default_factory=lambda: _env("GOVFLOW_WEBHOOK_URL"))
    webhook_secret: str = field(default_factory=lambda: _env("GOVFLOW_WEBHOOK_SECRET"))
    # `govflow serve` sets it to the address it binds when unset; standalone workers need it configured.
    base_url: str = field(default_factory=lambda: _env("GOVFLOW_BASE_URL", "http://127.0.0.1:8000"))
    max_attempts: int = field(default_factory=lambda: int(_env("GOVFLOW_DELIVERY_MAX_ATTEMPTS", "6")))
    backoff_seconds: float = field(default_factory=lambda: float(_env("GOVFLOW_DELIVERY_BACKOFF_SECONDS", "30")))
    # A delivery claimed by a worker that then died is retried after this long.
    lease_seconds: float = field(default_factory=lambda: float(_env("GOVFLOW_DELIVERY_LEASE_SECONDS", "60")))
    timeout_seconds: float = field(default_factory=lambda: float(_env("GOVFLOW_CHANNEL_TIMEOUT_SECONDS", "10")))
