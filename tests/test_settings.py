"""Each settings module, loaded in a fresh interpreter with only the environment a user would give
it: what it serves, and that production refuses to start unsafe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
NAMES = [
    "DEBUG", "MEDIA_DELIVERY", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER", "AUTH_PASSWORD_VALIDATORS", "AUTHENTICATION_BACKENDS", "CACHES",
    "WHISPER_MODEL", "WHISPER_MODELS_DIR", "INSTALLED_APPS", "WHISPER_WINDOW_LANGUAGE", "WHISPER_TRANSLATE",
    "WHISPER_MALLOC_MMAP_THRESHOLD", "LLM_MODEL", "LLM_HOST", "LLM_PORT", "LLM_CONTEXT", "ANALYSIS_BACKEND",
    "ANALYSIS_LLM_RESPONSE_FORMAT", "LLM_URL", "LLM_TIMEOUT", "ANALYSIS_LANGUAGE", "ANALYSIS_LLM_CHUNK_SEGMENTS",
    "ANALYSIS_LLM_DECODING", "SPEAKERS_ENABLED", "SPEAKERS_MIN", "SPEAKERS_MAX", "SPEAKERS_THRESHOLD",
    "SPEAKERS_WINDOW_SECONDS", "SPEAKERS_KEEP_NAME_SIMILARITY",
]  # fmt: skip
PRODUCTION = {
    "DJANGO_SECRET_KEY": "k3y-" + "abcdefghijklmnopqrstuvwxyz0123456789" * 2,
    "DATABASE_URL": "postgres://mediapipe:s3cret-pw@db:5432/mediapipe",
    "CELERY_BROKER_URL": "redis://redis:6379/0",
    "DJANGO_ALLOWED_HOSTS": "media.example.com",
}
SCRIPT = f"""
import json, django
from django.conf import settings
django.setup()
names = {NAMES!r}
db = settings.DATABASES["default"]
print(json.dumps({{**{{n: getattr(settings, n, None) for n in names}},
    "CONN_MAX_AGE": db["CONN_MAX_AGE"], "CONN_HEALTH_CHECKS": db["CONN_HEALTH_CHECKS"]}}, default=str))
"""


def _load(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "TEST_", "AWS_"))}
    clean.pop("STORAGE_BACKEND", None)
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**clean, "DJANGO_SETTINGS_MODULE": module, **env},
    )  # fmt: skip


def _settings(module: str, **env: str) -> dict[str, Any]:
    done = _load(module, **env)
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_local_settings_serve_media_themselves_in_debug() -> None:
    local = _settings("config.settings.local")
    assert local["DEBUG"] is True
    assert local["MEDIA_DELIVERY"] == "django"  # computed after DEBUG: make run's player gets its files


def test_test_settings_serve_media_like_make_run() -> None:
    assert _settings("config.settings.test")["MEDIA_DELIVERY"] == "django"


@pytest.mark.parametrize("module", ["config.settings.local", "config.settings.test", "config.settings.production"])
def test_every_module_transcribes_with_the_multilingual_model_the_project_installs(module: str) -> None:
    loaded = _settings(module, **(PRODUCTION if module.endswith("production") else {}))
    assert loaded["WHISPER_MODEL"] == "base"
    assert loaded["WHISPER_MODELS_DIR"] == str(ROOT / "var" / "models")  # where bootstrap and run.sh assemble
    assert "tests.throwaway_stage" not in loaded["INSTALLED_APPS"]


@pytest.mark.parametrize("module", ["config.settings.local", "config.settings.test", "config.settings.production"])
def test_every_module_has_the_measured_language_memory_and_model_server_defaults(module: str) -> None:
    loaded = _settings(module, **(PRODUCTION if module.endswith("production") else {}))
    assert loaded["WHISPER_WINDOW_LANGUAGE"] == "each"  # chosen by bench.languages
    assert loaded["WHISPER_TRANSLATE"] is False
    assert loaded["WHISPER_MALLOC_MMAP_THRESHOLD"] == 1024 * 1024  # base under 450 MB (bench.models)
    assert (loaded["LLM_MODEL"], loaded["LLM_HOST"], loaded["LLM_PORT"], loaded["LLM_CONTEXT"]) == (
        "qwen2.5-1.5b", "127.0.0.1", 8091, 4096,
    )  # fmt: skip
    # The local model where it is installed (auto); the tests choose their backend per test.
    backend = "extractive" if module.endswith(".test") else "auto"
    assert (loaded["ANALYSIS_BACKEND"], loaded["ANALYSIS_LLM_RESPONSE_FORMAT"]) == (backend, "json_schema")
    assert (loaded["LLM_URL"], loaded["LLM_TIMEOUT"]) == ("http://127.0.0.1:8091/v1", 300.0)
    assert (loaded["ANALYSIS_LANGUAGE"], loaded["ANALYSIS_LLM_CHUNK_SEGMENTS"]) == ("", 15)  # bench.analysis
    assert loaded["ANALYSIS_LLM_DECODING"] is None  # the backend's measured defaults (llm_config)


@pytest.mark.parametrize("module", ["config.settings.local", "config.settings.test", "config.settings.production"])
def test_every_module_finds_speakers_with_the_measured_defaults(module: str) -> None:
    loaded = _settings(module, **(PRODUCTION if module.endswith("production") else {}))
    assert loaded["SPEAKERS_ENABLED"] is True
    assert (loaded["SPEAKERS_MIN"], loaded["SPEAKERS_MAX"]) == (1, 8)
    assert loaded["SPEAKERS_THRESHOLD"] == 0.28  # bench.speakers
    assert loaded["SPEAKERS_WINDOW_SECONDS"] == 120.0  # 30-minute file: 501 MB peak, 750 MB with 600 s
    assert loaded["SPEAKERS_KEEP_NAME_SIMILARITY"] == 0.8


def test_the_model_servers_address_is_where_clients_reach_it() -> None:
    # Listening on every interface means reaching it on loopback; compose names the service instead.
    assert _settings("config.settings.local", LLM_HOST="0.0.0.0", LLM_PORT="9000")["LLM_URL"] == (
        "http://127.0.0.1:9000/v1"
    )
    assert _settings("config.settings.local", LLM_URL="http://llm:8091/v1")["LLM_URL"] == "http://llm:8091/v1"
    decoding = _settings("config.settings.local", ANALYSIS_LLM_DECODING='{"ja": {"repeat_penalty": 1.2}}')
    assert decoding["ANALYSIS_LLM_DECODING"] == {"ja": {"repeat_penalty": 1.2}}


def test_test_settings_load_an_extra_app_only_when_named() -> None:
    apps = _settings("config.settings.test", TEST_EXTRA_APPS="tests.throwaway_stage")["INSTALLED_APPS"]
    assert apps[-1] == "tests.throwaway_stage"
    assert apps[:-1] == _settings("config.settings.test")["INSTALLED_APPS"]


def test_object_storage_signs_media_urls_in_every_module() -> None:
    s3 = {"STORAGE_BACKEND": "s3", "AWS_STORAGE_BUCKET_NAME": "media"}
    assert _settings("config.settings.local", **s3)["MEDIA_DELIVERY"] == "presigned"
    assert _settings("config.settings.production", **PRODUCTION, **s3)["MEDIA_DELIVERY"] == "presigned"


def test_production_is_safe_by_default() -> None:
    prod = _settings("config.settings.production", **PRODUCTION)
    assert prod["DEBUG"] is False
    assert prod["MEDIA_DELIVERY"] == "x-accel"  # nginx sends the bytes after Django's check
    assert prod["SECURE_SSL_REDIRECT"] is True
    assert prod["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert prod["SESSION_COOKIE_SECURE"] is True
    assert prod["SECURE_PROXY_SSL_HEADER"] is None  # not behind the proxy: the header is not believed
    assert prod["CONN_MAX_AGE"] == 60  # its own DATABASES keeps connection reuse and health checks
    assert prod["CONN_HEALTH_CHECKS"] is True
    assert len(prod["AUTH_PASSWORD_VALIDATORS"]) == 4
    assert prod["AUTHENTICATION_BACKENDS"] == ["config.login_throttle.ThrottledModelBackend"]
    assert prod["CACHES"]["default"]["BACKEND"].endswith("RedisCache")  # throttling shared by workers
    assert prod["CACHES"]["default"]["LOCATION"] == "redis://redis:6379/1"  # never the broker's database


def test_production_believes_the_proxy_only_when_told_it_is_in_front() -> None:
    prod = _settings("config.settings.production", **PRODUCTION, DJANGO_BEHIND_PROXY="true")
    assert prod["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_production_https_can_be_turned_off_for_a_plain_http_trial() -> None:
    off = {"DJANGO_SECURE_SSL_REDIRECT": "false", "DJANGO_SECURE_HSTS_SECONDS": "0", "DJANGO_SECURE_COOKIES": "false"}
    prod = _settings("config.settings.production", **PRODUCTION, **off)
    assert (prod["SECURE_SSL_REDIRECT"], prod["SECURE_HSTS_SECONDS"], prod["SESSION_COOKIE_SECURE"]) == (
        False,
        0,
        False,
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DJANGO_SECRET_KEY": "CHANGE_ME"}, "DJANGO_SECRET_KEY still contains the placeholder CHANGE_ME"),
        ({"DJANGO_SECRET_KEY": "short-but-real"}, "DJANGO_SECRET_KEY is too weak (14 characters"),
        ({"DJANGO_SECRET_KEY": "a" * 60}, "DJANGO_SECRET_KEY is too weak (60 characters, 1 distinct"),
        ({"DATABASE_URL": "postgres://mediapipe:CHANGE_ME@db:5432/m"}, "DATABASE_URL still contains the placeholder"),
        ({"FLOWER_BASIC_AUTH": "admin:CHANGE_ME"}, "FLOWER_BASIC_AUTH still contains the placeholder"),
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY is too weak"),
    ],
)
def test_production_refuses_placeholders_and_weak_keys(overrides: dict[str, str], message: str) -> None:
    done = _load("config.settings.production", **{**PRODUCTION, **overrides})
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert message in done.stderr


def test_production_requires_its_secrets() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}
    done = _load("config.settings.production", **env)
    assert done.returncode != 0
    assert "Set the DJANGO_SECRET_KEY environment variable" in done.stderr
