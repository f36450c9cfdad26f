# Two commands: `make run` (set up and run the system) and `make test` (set up and run the tests).
# Both install what is missing first (apt: ffmpeg, espeak-ng, redis-server; pip: .venv).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python

.PHONY: help run test lint typecheck pytest bootstrap bootstrap-dev

help:
	@echo "make run   - install what is missing, start Redis/worker/beat/web, process a sample video"
	@echo "make test  - install what is missing, run ruff, mypy and the tests (real worker, Redis, ffmpeg, Whisper)"

bootstrap:
	@scripts/bootstrap.sh requirements.txt

bootstrap-dev:
	@scripts/bootstrap.sh requirements-dev.txt

run: bootstrap
	@scripts/run.sh

# The tests use Redis database 15 unless CELERY_BROKER_URL says otherwise.
test: bootstrap-dev
	@CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/15} scripts/ensure_redis.sh
	$(MAKE) --no-print-directory lint typecheck pytest

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck:
	.venv/bin/mypy .

pytest:
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/15} $(PY) -m pytest
