#!/usr/bin/env bash
# Use the Redis at CELERY_BROKER_URL when it answers; otherwise start a local redis-server on
# that port (default 127.0.0.1:6379), keeping nothing on disk.
set -euo pipefail
cd "$(dirname "$0")/.."
url="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}"
hostport="${url#redis://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" != "$host" ] || port=6379
if redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1; then
  exit 0
fi
case "$host" in
  127.0.0.1|localhost) ;;
  *) echo "ensure_redis: no Redis answers at $host:$port (CELERY_BROKER_URL); start it or fix the URL" >&2; exit 1 ;;
esac
echo "ensure_redis: starting redis-server on $host:$port"
mkdir -p var
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
  --dir "$PWD/var" --logfile "$PWD/var/redis.log" --pidfile "$PWD/var/redis.pid"
for _ in $(seq 1 50); do
  redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1 && exit 0
  sleep 0.1
done
echo "ensure_redis: redis-server did not start; see var/redis.log" >&2
exit 1
