#!/usr/bin/env bash
# `make run`: Redis (the one at CELERY_BROKER_URL, or a local one started here), migrations, an
# admin login, a Celery worker and Beat in the background, a processed sample video, then the
# development server in the foreground. Ctrl-C stops the worker and Beat too.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.local}"
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}"
PY=.venv/bin/python
PORT="${PORT:-8000}"
mkdir -p var

scripts/ensure_redis.sh
$PY manage.py migrate --noinput -v0
$PY manage.py ensure_admin

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

.venv/bin/celery -A config worker -Q transcription,analysis,hls,default --loglevel INFO \
  --statedb var/worker.state --logfile var/worker.log -n "worker@%h" &
pids+=($!)
.venv/bin/celery -A config beat --loglevel INFO --logfile var/beat.log --pidfile var/beat.pid &
pids+=($!)
echo "run: worker log var/worker.log, beat log var/beat.log"

[ -f var/sample.mp4 ] || $PY manage.py make_sample_media var/sample.mp4
$PY manage.py process_file var/sample.mp4 --timeout 600

echo
echo "run: admin at http://127.0.0.1:$PORT/admin/ ($(cat var/admin-login.txt))"
$PY manage.py runserver "127.0.0.1:$PORT"
