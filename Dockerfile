# syntax=docker/dockerfile:1
# One image for every role of the media pipeline (see docker-compose.yml):
#   web    gunicorn config.wsgi:application   (the default CMD below)
#   worker celery -A config worker -Q transcription,analysis,hls,default ...
#   beat   celery -A config beat ...
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

# Every RUN below is strict: stop at the first failing command, unset variable or broken pipe.
SHELL ["/bin/bash", "-euo", "pipefail", "-c"]

# Debian's ffmpeg/ffprobe: libx264 and h264_nvenc are compiled in. NVENC also needs the NVIDIA
# driver libraries, which the NVIDIA Container Toolkit mounts at run time (see the worker in
# docker-compose.yml); without them the pipeline falls back to libx264 per job.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

# Non-root user; its home holds any library cache, the code itself stays root-owned.
RUN groupadd --system --gid 1000 app \
    && useradd --system --uid 1000 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, so that code changes reuse this layer.
COPY requirements.txt ./
# --extra-index-url points at PyTorch's CPU wheel index: it keeps the image free of multi-GB CUDA
# wheels (torch==2.13.0 resolves to 2.13.0+cpu). NVENC is ffmpeg's and needs no CUDA torch.
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt

# The project, copied by name so that .env, .venv, .git, media/ and var/ never enter the image.
COPY manage.py ./
COPY config ./config
COPY uploads ./uploads
COPY processing ./processing

# Admin static files into STATIC_ROOT (/app/staticfiles) for a reverse proxy to serve at /static/.
# Production settings require these variables; the values are build-time placeholders, not secrets.
RUN DJANGO_SECRET_KEY=collectstatic-build-only \
    DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
    CELERY_BROKER_URL=redis://localhost:6379/0 \
    DJANGO_ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput \
    && rm -f /tmp/collectstatic.sqlite3

# Writable paths: MEDIA_ROOT (the shared `media` volume) and the worker's --statedb directory.
# Named volumes mounted here start with this ownership.
RUN mkdir -p /app/media /app/var/celery \
    && chown -R app:app /app/media /app/var

USER app

EXPOSE 8000

CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
