#!/usr/bin/env bash
# The main job on a fresh machine: set up, then run the moons seed study on the embedded
# service (SQLite + local Ray). Extra arguments go to `sweepd demo` (e.g. --steps 2000).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/sweepd demo "$@"
