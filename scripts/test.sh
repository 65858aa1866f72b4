#!/usr/bin/env bash
# Quick start, command 2: install everything the tests use and run the whole suite.
# As root it installs the Debian packages for the real peers (nginx-rtmp, ffmpeg, chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
debs=(nginx libnginx-mod-rtmp ffmpeg chromium fonts-dejavu-core ngircd)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for d in "${debs[@]}"; do dpkg -s "$d" >/dev/null 2>&1 || missing+=("$d"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
source scripts/_setup.sh "[dev,asr,fleet]"
.venv/bin/ruff check streamhost tests benchmarks
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
