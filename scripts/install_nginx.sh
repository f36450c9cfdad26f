#!/usr/bin/env bash
# Install what the web-tier test (tests/web/test_nginx.py) needs, when it is missing: Debian's nginx
# and envsubst (gettext-base, used by deploy/nginx/render.sh). The test runs its own nginx with its own
# configuration; the system service the package starts is stopped here, so nothing stays on port 80.
# Idempotent and quick when everything is there; exits non-zero with a reason when it cannot install.
set -euo pipefail

missing=()
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v envsubst >/dev/null || missing+=(gettext-base)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install_nginx: installing ${missing[*]} with apt-get"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install_nginx: not root and no sudo; cannot apt-get install ${missing[*]}" >&2; exit 1; }
    SUDO="sudo -n"
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [[ " ${missing[*]} " == *" nginx "* ]]; then
    # The package's postinst starts the system nginx on port 80 where it can: stop it again.
    $SUDO service nginx stop >/dev/null 2>&1 || true
    if [ -s /run/nginx.pid ]; then $SUDO /usr/sbin/nginx -s stop >/dev/null 2>&1 || true; fi
  fi
fi
[ -x /usr/sbin/nginx ] || { echo "install_nginx: apt-get ran but /usr/sbin/nginx is missing" >&2; exit 1; }
[ -f /etc/nginx/mime.types ] || { echo "install_nginx: /etc/nginx/mime.types is missing" >&2; exit 1; }
command -v envsubst >/dev/null || { echo "install_nginx: envsubst (gettext-base) is missing" >&2; exit 1; }
