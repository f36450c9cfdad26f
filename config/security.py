"""Refusals that keep production from starting unsafe: each names the setting to fix and how."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

PLACEHOLDER = "CHANGE_ME"
# Every variable of .env.example that holds a secret (a password may sit inside a URL).
SECRET_VARIABLES = (
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "DJANGO_CACHE_URL",
    "POSTGRES_PASSWORD",
    "FLOWER_BASIC_AUTH",
    "AWS_SECRET_ACCESS_KEY",
    "OPENAI_API_KEY",
)
# Django's own deploy check (security.W009) asks for at least 50 characters and 5 distinct ones.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE = 5
GENERATE_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'


def refuse_placeholders(environ: Mapping[str, str]) -> None:
    left = [name for name in SECRET_VARIABLES if PLACEHOLDER in environ.get(name, "")]
    if left:
        raise ImproperlyConfigured(
            f"{', '.join(left)} still contain{'s' if len(left) == 1 else ''} the placeholder {PLACEHOLDER} "
            "from .env.example: replace every CHANGE_ME in .env with a real secret before starting"
        )


def refuse_weak_secret_key(key: str) -> str:
    if len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_UNIQUE:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is too weak ({len(key)} characters, {len(set(key))} distinct; at least "
            f"{SECRET_KEY_MIN_LENGTH} and {SECRET_KEY_MIN_UNIQUE} are needed). Generate one with: {GENERATE_KEY}"
        )
    return key
