#!/usr/bin/env bash
# Quick start, command 1: install the engine and run it on its embedded defaults.
# Extra arguments go to `streamhost run` (e.g. --duration 30 --record demo.mp4).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_setup.sh ""
exec .venv/bin/streamhost run "$@"
