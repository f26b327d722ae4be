"""gunicorn settings for govflow: `gunicorn -c python:service.http.gunicorn_conf 'service.http.serve:wsgi()'`.

With PROMETHEUS_MULTIPROC_DIR set, each gunicorn worker writes its metric samples to files in that
directory and /metrics adds them up. The directory must start empty (files of an earlier run
would be counted again), so the master wipes it once at start; a worker that exits has its live
samples marked dead. Everything else keeps gunicorn's defaults and command-line flags."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _directory() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def on_starting(server: Any) -> None:
    directory = _directory()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if _directory() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
