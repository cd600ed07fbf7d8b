#!/usr/bin/env bash
# Create .venv and install sweepd with the service and test dependencies.
# torch is pinned first so that pip takes the CPU wheel instead of a multi-GB CUDA build;
# the project itself only asks for torch>=2.3.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==${SWEEPD_TORCH_VERSION:-2.13.0}"
# constraints.txt pins every other dependency to the versions the suite last passed with.
.venv/bin/python -m pip install -q -c constraints.txt -e ".[server,test${1:+,$1}]"
