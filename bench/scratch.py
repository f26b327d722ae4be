"""What every benchmark needs: a scratch database (a temporary SQLite file, or a PostgreSQL database
created on the local server, 127.0.0.1:5432, and dropped by the returned callable), and a place for
its figures."""
from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def scratch_db(kind: str = "postgresql") -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="govflow_bench_")
        # Removed by the callable, like the PostgreSQL database: a grown one is hundreds of MB.
        return f"sqlite:///{Path(folder) / 'bench.db'}", lambda: shutil.rmtree(folder, ignore_errors=True)
    name = f"govflow_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


RESULTS = Path(__file__).resolve().parent / "results"


def write_result(name: str, result: object) -> Path:
    """Print a benchmark's figures and keep them in bench/results/NAME.json (ignored by git)."""
    text_out = json.dumps(result, ensure_ascii=False, indent=2)
    print(text_out)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(text_out)
    return path
