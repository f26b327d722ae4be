"""Where the audit MAC key comes from: never the database (docs/audit.md, key handling).

GOVFLOW_AUDIT_KEY="ID:SECRET[,ID:SECRET…]", or GOVFLOW_AUDIT_KEY_FILE naming a file with one
ID:SECRET per line (# comments). The first key signs; all of them verify, which is how a key is
rotated: put the new one first and keep the old ones listed. A bare SECRET has the id "default".
With neither set (the embedded mode) the key file is var/audit.key, generated once with mode 0600.

One key configuration per process: it is the process's environment, like the database URL's
password, so it is read once (install() replaces it, for tests and tools)."""
from __future__ import annotations

import logging
import os
import re
import secrets
import threading
from pathlib import Path

from service.config import REPO_ROOT, Settings, load_settings
from service.domain.audit_chain import KEY_ID, Keyring
from service.domain.errors import GovflowError

log = logging.getLogger("govflow.audit")
EMBEDDED_KEY_FILE = REPO_ROOT / "var" / "audit.key"
MIN_SECRET = 16
_lock = threading.Lock()
_active: Keyring | None = None


def parse(spec: str, source: str) -> Keyring:
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for line in spec.splitlines():
        line = line.split("#", 1)[0]
        for entry in re.split(r"[,\s]+", line.strip()):
            if not entry:
                continue
            key_id, sep, secret = entry.partition(":")
            if not sep:
                key_id, secret = "default", entry
            if not KEY_ID.match(key_id):
                raise GovflowError(f"{source}：审计密钥编号 {key_id!r} 无效（字母、数字、._-，至多 32 个字符）")
            if len(secret) < MIN_SECRET:
                raise GovflowError(f"{source}：审计密钥 {key_id} 过短"
                                   f"（至少 {MIN_SECRET} 个字符，建议 64 位十六进制随机数）")
            if key_id in keys:
                raise GovflowError(f"{source}：审计密钥编号 {key_id} 重复")
            keys[key_id] = secret.encode()
            order.append(key_id)
    if not order:
        raise GovflowError(f"{source}：未配置审计密钥")
    return Keyring(keys, order[0])


def generate(path: Path) -> None:
    """Create the key file once, 0600, atomically: a second process (the embedded worker) starting
    at the same moment reads the first one's key instead of making its own."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write("# govflow audit MAC key (docs/audit.md). Keep it off the database host; never commit it.\n")
            f.write(f"local:{secrets.token_hex(32)}\n")
        try:
            os.link(tmp, path)  # fails if another process got there first: theirs is kept
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


def read_file(path: Path) -> Keyring:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("audit key file %s is readable by others (mode %o); chmod 600 it", path, mode)
    return parse(path.read_text(encoding="utf-8"), str(path))


def load(settings: Settings, embedded_file: Path = EMBEDDED_KEY_FILE) -> Keyring:
    if settings.audit_key.strip():
        return parse(settings.audit_key, "GOVFLOW_AUDIT_KEY")
    if settings.audit_key_file.strip():
        path = Path(settings.audit_key_file)
        if not path.exists():
            # Never generate a key where one was named: a missing secret mount would otherwise sign
            # with a fresh key that nobody keeps.
            raise GovflowError(f"GOVFLOW_AUDIT_KEY_FILE 指定的审计密钥文件 {path} 不存在")
        return read_file(path)
    if not embedded_file.exists():
        if not settings.database_url.startswith("sqlite"):
            log.warning("no GOVFLOW_AUDIT_KEY / GOVFLOW_AUDIT_KEY_FILE: generating %s for a server database; "
                        "production should set one (docs/audit.md)", embedded_file)
        generate(embedded_file)
    return read_file(embedded_file)


def active() -> Keyring:
    global _active
    keyring = _active
    if keyring is None:
        with _lock:
            if _active is None:
                _active = load(load_settings())
            keyring = _active
    return keyring


def install(keyring: Keyring | None) -> None:
    """Use this keyring from now on in this process (None: read the environment again)."""
    global _active
    with _lock:
        _active = keyring
