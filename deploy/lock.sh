#!/bin/sh
# Regenerate deploy/requirements.lock after changing dependencies in pyproject.toml. uv resolves
# (fast, and writes hashes for every file of each pinned release, so the lock installs on x86_64
# and aarch64 alike); pip installs from it, so the image needs no uv.
set -eu
cd "$(dirname "$0")/.."
tools=${TMPDIR:-/tmp}/govflow-lock-tools
[ -x "$tools/bin/uv" ] || { python3 -m venv "$tools" && "$tools/bin/pip" install -q uv; }
"$tools/bin/uv" pip compile pyproject.toml deploy/build.in --generate-hashes --python-version 3.11 \
  --python-platform x86_64-manylinux_2_28 --no-header -o deploy/requirements.lock "$@"
