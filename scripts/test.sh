#!/usr/bin/env bash
# Quick start, command 2: install everything the tests use and run the whole suite.
# As root it installs the Debian packages for the real peers (nginx-rtmp, ffmpeg, chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_debs.sh
install_debs nginx libnginx-mod-rtmp ffmpeg chromium fonts-dejavu-core fonts-wqy-microhei ngircd
source scripts/_setup.sh "[dev,asr,fleet]"
.venv/bin/ruff check streamhost tests benchmarks
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
