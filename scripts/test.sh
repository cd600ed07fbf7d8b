#!/usr/bin/env bash
# The test suite on a fresh machine: set up, lint, check the layer contracts, run every test tier.
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth) and Chromium for the browser tests;
# .ci/run starts/installs them when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/lint-imports
# pytest exits 5 when it collected nothing: with set -e that fails the run, as it should.
exec .venv/bin/python -m pytest -q -m "not heavy" "$@"
