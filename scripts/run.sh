#!/usr/bin/env bash
# Quick start, command 1: install the engine and run it on its embedded defaults.
# Extra arguments go to `streamhost run` (e.g. --duration 30 --record demo.mp4).
set -euo pipefail
cd "$(dirname "$0")/.."
# Fonts for the studio's text: DejaVu for Latin, WenQuanYi Micro Hei for Chinese product names.
source scripts/_debs.sh
install_debs fonts-dejavu-core fonts-wqy-microhei
source scripts/_setup.sh ""
exec .venv/bin/streamhost run "$@"
