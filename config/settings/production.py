"""Production settings: secrets and the database come from the environment, with no defaults, and
the process refuses to start on a placeholder or weak secret (config.security)."""

import os
from urllib.parse import urlsplit, urlunsplit

from config.security import refuse_placeholders, refuse_weak_secret_key

from .base import *  # noqa: F403
from .base import BEHIND_PROXY, MIDDLEWARE, STORAGE_BACKEND, STORAGES, database, env

DEBUG = False
refuse_placeholders(os.environ)
SECRET_KEY = refuse_weak_secret_key(env("DJANGO_SECRET_KEY"))
DATABASES = {"default": database(env.db("DATABASE_URL"))}
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Login failure counts are shared by every gunicorn worker through Redis: the broker's server, the
# next database number, so that clearing the cache (a FLUSHDB) never touches the queues.
_broker = urlsplit(CELERY_BROKER_URL)
_cache_db = (int(_broker.path.strip("/") or 0) + 1) % 16
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("DJANGO_CACHE_URL", default=urlunsplit(_broker._replace(path=f"/{_cache_db}"))),
        "KEY_PREFIX": "mediapipe",
    }
}
# nginx serves media after the ownership check (X-Accel-Redirect); an object store signs its URLs.
MEDIA_DELIVERY = env("DJANGO_MEDIA_DELIVERY", default="presigned" if STORAGE_BACKEND == "s3" else "x-accel")

# --- HTTPS: on by default; a plain-http trial turns each off in .env (see .env.example) -------------
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]  # compose's healthchecks speak plain http to gunicorn
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
# Joining the browsers' preload list is the domain owner's decision, not a default.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Believed only when the proxy is the one way in (compose: nginx overwrites the header; gunicorn's
# port is not published). Reached directly, a client could claim https with this header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None

# gunicorn serves admin's static files (collected at image build) through whitenoise.
MIDDLEWARE = [MIDDLEWARE[0], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[1:]]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
