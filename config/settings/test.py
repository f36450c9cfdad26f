"""Test settings: the same real Redis/PostgreSQL/ffmpeg/Whisper, isolated names and a small limit."""

import os
import tempfile

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, STORAGE_BACKEND, env

SECRET_KEY = "test-only-not-secret"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A fresh media folder per test session, exported so the worker process under test shares it.
MEDIA_ROOT = env("DJANGO_MEDIA_ROOT", default="") or tempfile.mkdtemp(prefix="mediapipe-test-media-")
os.environ["DJANGO_MEDIA_ROOT"] = MEDIA_ROOT
# Redis database 15 keeps test messages away from a developer's running stack on database 0.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=50 * 1024**2)
# As in `make run`: the test server serves media itself after the ownership check.
MEDIA_DELIVERY = env("DJANGO_MEDIA_DELIVERY", default="presigned" if STORAGE_BACKEND == "s3" else "django")
HLS_X264_PRESET = "ultrafast"
# The default (auto) would use the local model whenever it is installed; the tests that want it say so.
ANALYSIS_BACKEND = env("ANALYSIS_BACKEND", default="extractive")
HLS_SEGMENT_SECONDS = 2

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so that the worker process under test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test-db.sqlite3")}

# The worker started by the tests must use the database pytest-django created for them.
if env("TEST_WORKER_DB_NAME", default=""):
    DATABASES["default"]["NAME"] = env("TEST_WORKER_DB_NAME")

# Apps only some test processes load (tests/throwaway_stage: a stage registered from outside processing).
INSTALLED_APPS = [*INSTALLED_APPS, *env.list("TEST_EXTRA_APPS", default=[])]  # noqa: F405
