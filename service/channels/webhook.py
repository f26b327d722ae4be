"""Webhook for government messaging platforms (e.g. 爱山东·政务协同 robots): JSON POST signed with
HMAC-SHA256 over "<timestamp>.<body>"; X-Govflow-Delivery is an idempotency key for receivers."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

from service.channels.config import ChannelSettings


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def send(cfg: ChannelSettings, *, url: str, payload: dict[str, Any], delivery_key: str) -> None:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    ts = str(int(time.time()))
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "X-Govflow-Timestamp": ts,
        "X-Govflow-Signature": sign(cfg.webhook_secret, ts, body),
        "X-Govflow-Delivery": delivery_key,
    })
    try:
        with urllib.request.urlopen(req, timeout=cfg.timeout_seconds) as resp:
            if not 200 <= resp.status < 300:
                raise RuntimeError(f"webhook 返回 HTTP {resp.status}")
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"webhook 返回 HTTP {exc.code}") from exc
