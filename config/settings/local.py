"""Development settings: `make run`."""

from .base import *  # noqa: F403
from .base import STORAGE_BACKEND, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-secret")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["*"])
# The dev server is the only web server here: it serves media itself (after the ownership check).
MEDIA_DELIVERY = env("DJANGO_MEDIA_DELIVERY", default="presigned" if STORAGE_BACKEND == "s3" else "django")
