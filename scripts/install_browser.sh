#!/usr/bin/env bash
# Install what the browser test (tests/web/test_browser.py) needs, when it is missing:
# Debian's chromium at /usr/bin/chromium (apt-get) and playwright-core in node_modules (npm ci, needs node).
# Idempotent and quick when everything is there; exits non-zero with a reason when it cannot install.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  echo "install_browser: installing chromium with apt-get"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install_browser: not root and no sudo; cannot apt-get install chromium" >&2; exit 1; }
    SUDO="sudo -n"
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  [ -x /usr/bin/chromium ] || { echo "install_browser: apt-get ran but /usr/bin/chromium is missing" >&2; exit 1; }
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install_browser: installing nodejs and npm with apt-get (playwright-core needs them)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
command -v node >/dev/null || { echo "install_browser: node is missing and could not be installed" >&2; exit 1; }
if [ ! -f node_modules/playwright-core/package.json ]; then
  command -v npm >/dev/null || { echo "install_browser: npm is missing; cannot install playwright-core" >&2; exit 1; }
  echo "install_browser: installing node packages with npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
