"""Settings, read from the environment with defaults that run on a fresh machine.

The defaults are the embedded mode: SQLite, the tantivy index and numpy vector files in the data
directory, and a Celery broker kept in files there, so nothing needs a server. The scale mode
(docker-compose.yml) sets DATABASE_URL, SEARCH_BACKEND=elasticsearch and a Redis broker.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data directory."""
    if key := env.str("SECRET_KEY", default=""):
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        from django.core.management.utils import get_random_secret_key

        path.write_text(get_random_secret_key())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "corsheaders",
    "ninja",
    "papers",
    "papers.library",
    "search",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "papers.urls"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
WSGI_APPLICATION = "papers.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web processes read while the worker writes; IMMEDIATE avoids lock upgrades
    # failing half-way through a write transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One cache shared by every process of a deployment (rate limits, arXiv request pacing): files in
# the data directory on the embedded default, Redis at scale (CACHE_URL=redis://...).
CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{DATA_DIR / 'cache'}")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from static/ too, so a run without collectstatic still has its CSS.
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # One line per HTTP request is noise; failures are logged by the code that retries them.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

# --- Search -------------------------------------------------------------------------------
SEARCH_BACKEND = env.str("SEARCH_BACKEND", default="tantivy")
SEARCH_BACKENDS = {
    # PATH None means DATA_DIR / "index", resolved when the backend is made (tests move DATA_DIR).
    "tantivy": {"BACKEND": "search.backends.tantivy.TantivyBackend", "PATH": None},
    "elasticsearch": {
        "BACKEND": "search.backends.elasticsearch.ElasticsearchBackend",
        "URLS": env.list("ELASTICSEARCH_URL", default=["http://127.0.0.1:9200"]),
        "INDEX": env.str("ELASTICSEARCH_INDEX", default="papers"),
    },
}
SEARCH_MAX_PAGE_SIZE = 100
SEARCH_MAX_RESULT_WINDOW = 10_000
# How many BM25 candidates a reranker (hybrid search) may ask for.
SEARCH_MAX_CANDIDATES = 1000
# Papers per indexing task and per bulk request.
SEARCH_INDEX_CHUNK_SIZE = 500

# --- JSON API -------------------------------------------------------------------------------
# Rates like "60/min"; empty disables the limit (the load benchmark does).
API_ANON_RATE = env.str("API_ANON_RATE", default="120/min") or None
API_USER_RATE = env.str("API_USER_RATE", default="600/min") or None
# Scripts on any origin may read; nothing cross-origin may write.
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]

# --- Background work ----------------------------------------------------------------------
# The default broker keeps messages in files under the data directory (kombu's filesystem
# transport), so the embedded mode runs a real worker without Redis.
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "polling_interval": 0.5,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Machine learning -----------------------------------------------------------------------
# Encoder backend: auto (the first training times every variant on this machine and keeps the
# fastest that matches fp32; later trainings keep it), or fp32, bf16, int8, openvino,
# openvino-bf16 (ml/encoder.py).
ML_ENCODER = env.str("ML_ENCODER", default="auto")
# Papers the first training times the encoder variants on.
ML_ENCODER_MEASURE_TEXTS = env.int("ML_ENCODER_MEASURE_TEXTS", default=256)
ML_ENCODE_BATCH_SIZE = env.int("ML_ENCODE_BATCH_SIZE", default=32)
# Papers enriched per task: a redelivered task redoes at most this much work.
ML_ENRICH_BATCH_SIZE = env.int("ML_ENRICH_BATCH_SIZE", default=128)
# Training reads the most recent papers, up to this many.
ML_TRAIN_MAX_PAPERS = env.int("ML_TRAIN_MAX_PAPERS", default=100_000)
ML_MIN_TRAIN_PAPERS = env.int("ML_MIN_TRAIN_PAPERS", default=50)
# Train automatically when papers exist but no models do (bootstrap, the periodic check).
ML_AUTO_TRAIN = env.bool("ML_AUTO_TRAIN", default=True)
ML_KEYWORDS_PER_PAPER = 8
ML_TAGS_PER_PAPER = 5
# Longer texts are cut before keyword extraction (the encoder truncates on its own).
ML_KEYWORDS_MAX_CHARS = 20_000
# A training run whose worker stopped reporting for this long no longer blocks a new one.
ML_TRAINING_STALE_AFTER_SECONDS = 30 * 60
# Hybrid search: the BM25 candidates reranked with vector cosines.
SEARCH_RERANK_CANDIDATES = env.int("SEARCH_RERANK_CANDIDATES", default=100)
# Query vectors remembered per process (0: encode every query).
SEARCH_QUERY_VECTOR_CACHE = env.int("SEARCH_QUERY_VECTOR_CACHE", default=2048)
RELATED_PAPERS = 8
RECOMMENDATION_DAYS = env.int("RECOMMENDATION_DAYS", default=14)

CELERY_BEAT_SCHEDULE = {
    # Catches up on anything a crashed worker or a stopped web process left unenriched.
    "enrichment-maintenance": {
        "task": "papers.enrichment.tasks.maintain_enrichment",
        "schedule": 15 * 60,
    },
}

# --- Product data -------------------------------------------------------------------------
SAMPLE_PATH = BASE_DIR / "papers" / "sample" / "papers.jsonl.gz"

# --- Ingestion ----------------------------------------------------------------------------
# arXiv asks API clients to identify themselves and to wait 3 seconds between calls.
ARXIV_CONTACT = env.str("ARXIV_CONTACT", default="admin@localhost")
ARXIV_USER_AGENT = env.str(
    "ARXIV_USER_AGENT",
    default=f"coolpapers/0.1 (open-source arXiv paper search; mailto:{ARXIV_CONTACT})",
)
ARXIV_API_URL = env.str("ARXIV_API_URL", default="https://export.arxiv.org/api/query")
ARXIV_OAI_URL = env.str("ARXIV_OAI_URL", default="https://oaipmh.arxiv.org/oai")
# {category} is replaced by the category code (or codes joined with "+").
ARXIV_RSS_URL = env.str("ARXIV_RSS_URL", default="https://rss.arxiv.org/rss/{category}")
ARXIV_MIN_INTERVAL = env.float("ARXIV_MIN_INTERVAL", default=3.0)
ARXIV_HTTP_TIMEOUT = env.float("ARXIV_HTTP_TIMEOUT", default=60.0)
ARXIV_HTTP_MAX_ATTEMPTS = env.int("ARXIV_HTTP_MAX_ATTEMPTS", default=5)
# A Retry-After longer than this is cut short; a backoff without one starts here and doubles.
ARXIV_MAX_RETRY_AFTER = env.float("ARXIV_MAX_RETRY_AFTER", default=600.0)
ARXIV_RETRY_BACKOFF = env.float("ARXIV_RETRY_BACKOFF", default=5.0)
INGEST_BATCH_SIZE = env.int("INGEST_BATCH_SIZE", default=1000)
# A run keeps at most this many failed records (ids and reasons) on its row; the count is exact.
INGEST_MAX_RECORDED_FAILURES = 1000
# A run whose worker stopped reporting for this long may be taken over by a retry.
INGEST_STALE_AFTER_SECONDS = 15 * 60
