#!/usr/bin/env bash
# Create the Flower baseline's own virtual environment, bench/.venv-flower (idempotent).
# Flower pins older protobuf/fastapi than the project's mlflow, so it never shares .venv.
# Usage: bench/flower_baseline/setup_venv.sh   (from anywhere; PYTHON=python3.11 to choose)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${FLOWER_VENV:-$REPO_ROOT/bench/.venv-flower}"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.flower-installed"
# Bump when the package set below changes, so existing venvs are upgraded.
STAMP_VERSION="flwr[simulation]==1.41.0 torch==2.13.0 scikit-learn numpy v1"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_VERSION" ] \
   && "$VENV/bin/python" -c "import flwr, torch, sklearn, numpy, ray" 2>/dev/null; then
  echo "Flower venv ready: $VENV"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
# torch at the project's pin (the CPU wheel here); unpinned it pulls CUDA. Not the project's
# constraints.txt: it pins every package at the project's versions, and Flower needs others.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  "flwr[simulation]==1.41.0" "torch==2.13.0" scikit-learn numpy
echo "$STAMP_VERSION" > "$STAMP"
echo "Flower venv ready: $VENV"
