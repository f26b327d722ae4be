"""The production artefact, checked as far as this machine allows (no Docker engine here): the
compose file parses with the client, the lock covers pyproject.toml, and the image's own install
script (deploy/install.sh, which deploy/Dockerfile runs) builds a fresh virtual environment from
the lock alone, from which the service starts on PostgreSQL — and refuses to without a real key."""
from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from service.config import REPO_ROOT
from tests.conftest import scratch_database
from tests.servers import free_port

DEPLOY = REPO_ROOT / "deploy"
KEYS = {"GOVFLOW_SECRET_KEY": secrets.token_hex(32), "GOVFLOW_AUDIT_KEY": f"k1:{secrets.token_hex(32)}"}


def _compose() -> list[str]:
    """`docker compose` where the plugin is installed, else Debian's docker-compose (.ci/run installs it)."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    found = shutil.which("docker-compose")
    assert found, "neither `docker compose` nor docker-compose is installed (.ci/run installs docker-compose)"
    return [found]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVFLOW_")}
    return {**env, **extra}


def test_compose_parses_and_refuses_to_run_without_keys() -> None:
    ok = subprocess.run([*_compose(), "config"], cwd=REPO_ROOT, env=_clean_env(**KEYS), capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    # Every app service runs the built image: no source mounted, nothing installed at start.
    assert "pip install" not in ok.stdout
    assert "deploy/Dockerfile" in ok.stdout
    assert re.search(r"source: \S*/?\.\n|- \.:/app", ok.stdout) is None
    missing = subprocess.run([*_compose(), "config"], cwd=REPO_ROOT, env=_clean_env(), capture_output=True, text=True)
    assert missing.returncode != 0
    assert "GOVFLOW_SECRET_KEY" in missing.stderr


def test_dockerfile_installs_from_the_lock_with_the_shared_script() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "RUN sh deploy/install.sh /opt/venv /src" in dockerfile
    assert re.search(r"^USER govflow$", dockerfile, re.M)
    assert dockerfile.count("FROM ") == 3  # assets, python environment, runtime


def test_the_lock_pins_every_dependency_of_pyproject() -> None:
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins: dict[str, str] = {}
    for line in (DEPLOY / "requirements.lock").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s\\;]+)", line)
        if m:
            pins[re.sub(r"[-_.]+", "-", m.group(1).split("[")[0]).lower()] = m.group(2)
    assert "setuptools" in pins  # the build backend for --no-build-isolation
    for dep in deps:
        req = Requirement(dep)
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pins, f"{req.name} is in pyproject.toml but not in deploy/requirements.lock: run deploy/lock.sh"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{req.name}=={pins[name]} in the lock does not satisfy {req.specifier}: run deploy/lock.sh")
    # Every pin carries its hashes, so pip's --require-hashes accepts the whole file.
    lock = (DEPLOY / "requirements.lock").read_text()
    assert lock.count("--hash=sha256:") >= len(pins)


@pytest.fixture
def scratch_pg() -> Iterator[str]:
    with scratch_database("govflow_image") as url:
        yield url


def _copy_build_context(dest: Path) -> None:
    """What the Dockerfile's python stage COPYs: pyproject, deploy/, service/ (with the npm assets), workers/."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules")
    shutil.copy2(REPO_ROOT / "pyproject.toml", dest / "pyproject.toml")
    for folder in ("deploy", "service", "workers"):
        shutil.copytree(REPO_ROOT / folder, dest / folder, ignore=ignore)


def test_a_fresh_environment_from_the_lock_serves_and_refuses_a_weak_key(tmp_path: Path, scratch_pg: str) -> None:
    src, venv = tmp_path / "src", tmp_path / "venv"
    src.mkdir()
    _copy_build_context(src)
    build = subprocess.run(["sh", "deploy/install.sh", str(venv), str(src)], cwd=src, capture_output=True,
                           text=True, timeout=900)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    # The installed package, not the checkout: run from a directory with no source in it.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = _clean_env(GOVFLOW_DATABASE_URL=scratch_pg, GOVFLOW_PROCESSES_DIR=str(REPO_ROOT / "processes"),
                     GOVFLOW_FORMS_DIR=str(REPO_ROOT / "forms"), GOVFLOW_ATTACHMENTS_DIR=str(tmp_path / "files"),
                     GOVFLOW_AUDIT_KEY=KEYS["GOVFLOW_AUDIT_KEY"], PATH=f"{venv / 'bin'}:{os.environ['PATH']}")
    probe = subprocess.run([str(venv / "bin" / "python"), "-c", "import service, sys; print(service.__file__)"],
                           cwd=run_dir, env=env, capture_output=True, text=True)
    assert str(venv) in probe.stdout, probe.stdout + probe.stderr
    init = subprocess.run([str(venv / "bin" / "govflow"), "init"], cwd=run_dir, env=env, capture_output=True,
                          text=True, timeout=300)
    assert init.returncode == 0, init.stderr[-3000:]
    assert "govflow_lifecycle" in init.stdout

    gunicorn = [str(venv / "bin" / "gunicorn"), "-k", "gthread", "-w", "2", "--threads", "4", "--timeout", "60"]
    weak = subprocess.run([*gunicorn, "-b", f"127.0.0.1:{free_port()}", "service.http.serve:wsgi()"], cwd=run_dir,
                          env={**env, "GOVFLOW_SECRET_KEY": "change-me"}, capture_output=True, text=True, timeout=120)
    assert weak.returncode != 0
    assert "GOVFLOW_SECRET_KEY" in weak.stdout + weak.stderr

    port = free_port()
    server = subprocess.Popen([*gunicorn, "-b", f"127.0.0.1:{port}", "service.http.serve:wsgi()"], cwd=run_dir,
                              env={**env, "GOVFLOW_SECRET_KEY": KEYS["GOVFLOW_SECRET_KEY"]},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        body = ""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as resp:
                    body = resp.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert "登录" in body, "the service built from the lock did not serve /login"
        # The pages' npm assets were baked in at build time, not served from the checkout.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/vendor/versions.json", timeout=5) as resp:
            assert "bpmn-js" in resp.read().decode()
    finally:
        os.killpg(server.pid, 15)
        out = server.communicate(timeout=30)[0].decode(errors="replace")
    assert "Traceback" not in out, out[-3000:]
