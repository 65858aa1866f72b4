# Sourced by run.sh and test.sh: make .venv and install the package with the given extras.
# Re-runs are cheap: pip skips what is already installed.
set -euo pipefail
extras="${1:-}"
if [ ! -x .venv/bin/python ]; then
  py=python3
  for cand in python3 python3.13 python3.12 python3.11; do
    if "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then py=$cand; break; fi
  done
  "$py" -m venv .venv
fi
# torch is pinned in the dev extra; pip takes 2.13.0 (CPU build) and never a CUDA build.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
# Face landmark models for the photo/clip pack builders (converted once into .models/, never at
# run time); a failure here only disables building those packs, so it does not stop the setup.
.venv/bin/python scripts/fetch_face_models.py || echo "warning: face landmark models not installed (photo/clip pack building needs them)" >&2
