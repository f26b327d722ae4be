#!/bin/sh
# The image's Python install steps, in one place: deploy/Dockerfile runs this, and CI runs the same
# script in a fresh virtual environment (tests/deploy/test_image_install.py) and starts the service
# from it. Every package comes from deploy/requirements.lock with its hash, so two builds install
# the same bytes; govflow itself goes in last, without touching the resolver.
#   deploy/install.sh VENV [SOURCE_DIR]
set -eu
venv=$1
src=${2:-.}
python3 -m venv "$venv"
"$venv/bin/pip" install --no-cache-dir -q --disable-pip-version-check \
  --require-hashes --no-deps -r "$src/deploy/requirements.lock"
"$venv/bin/pip" install --no-cache-dir -q --disable-pip-version-check --no-deps --no-build-isolation "$src"
# The lock and pyproject.toml agree: nothing missing, nothing conflicting.
"$venv/bin/pip" check --disable-pip-version-check
