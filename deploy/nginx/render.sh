#!/bin/sh
# Render the nginx server block: deploy/nginx/render.sh TEMPLATE OUTPUT
# Used by the compose nginx container at start (/docker-entrypoint.d/) and by tests/web/test_nginx.py.
# Only the variables named below are substituted, so nginx's own $host, $uri... survive.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 TEMPLATE OUTPUT" >&2; exit 2; }

: "${NGINX_UPSTREAM:=web:8000}"
: "${NGINX_LISTEN_PORT:=80}"
: "${NGINX_STATIC_ROOT:=/app/staticfiles}"
: "${NGINX_MEDIA_ROOT:=/app/media}"
: "${NGINX_CLIENT_BODY_TEMP_PATH:=/var/cache/nginx/client_temp}"
: "${UPLOAD_MAX_BYTES:=2147483648}"
case "$UPLOAD_MAX_BYTES" in
  '' | *[!0-9]*) echo "$0: UPLOAD_MAX_BYTES must be a number of bytes, not '$UPLOAD_MAX_BYTES'" >&2; exit 2 ;;
esac
# The Django view allows the limit plus 64 KiB of multipart overhead; nginx takes plain bytes.
NGINX_CLIENT_MAX_BODY_SIZE=$((UPLOAD_MAX_BYTES + 65536))
export NGINX_UPSTREAM NGINX_LISTEN_PORT NGINX_STATIC_ROOT NGINX_MEDIA_ROOT NGINX_CLIENT_BODY_TEMP_PATH \
  NGINX_CLIENT_MAX_BODY_SIZE

envsubst '${NGINX_UPSTREAM} ${NGINX_LISTEN_PORT} ${NGINX_STATIC_ROOT} ${NGINX_MEDIA_ROOT} ${NGINX_CLIENT_BODY_TEMP_PATH} ${NGINX_CLIENT_MAX_BODY_SIZE}' \
  <"$1" >"$2.tmp"
mv "$2.tmp" "$2"
echo "$0: $2 from $1 (upstream $NGINX_UPSTREAM, port $NGINX_LISTEN_PORT, client_max_body_size $NGINX_CLIENT_MAX_BODY_SIZE)"
