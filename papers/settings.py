"""Settings, read from the environment with defaults that run on a fresh machine.

The defaults are the embedded mode: SQLite, the tantivy index and numpy vector files in the data
directory, and a Celery broker kept in files there, so nothing needs a server. The scale mode
(docker-compose.yml) sets DATABASE_URL, SEARCH_BACKEND=elasticsearch and a Redis broker.
"""

from pathlib import Path

import environ
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Nothing is written here when the settings are imported: the data directory and what is in it
# are made by the code that first needs them (bootstrap, the database, the broker, the index).
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "var"))).resolve()


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data directory.

    Before the data directory exists (tests, `manage.py check` on a fresh checkout) a key for
    this process only is used and nothing is written; bootstrap makes the directory.
    """
    if key := env.str("SECRET_KEY", default=""):
        return key
    from django.core.management.utils import get_random_secret_key

    path = DATA_DIR / "secret_key"
    if not DATA_DIR.is_dir():
        return get_random_secret_key()
    try:
        # Exclusive create: web processes starting together agree on the first one written.
        with open(path, "x") as f:
            path.chmod(0o600)
            f.write(get_random_secret_key())
    except FileExistsError:
        pass
    return path.read_text().strip() or get_random_secret_key()


SECRET_KEY = _secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS behind a TLS-terminating proxy (docker-compose.yml sets these for the web service; the
# embedded default serves plain http on 127.0.0.1 and leaves them off).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# "HTTP_X_FORWARDED_PROTO,https": the proxy's header that says the request came over HTTPS.
if _proxy_ssl_header := env.list("SECURE_PROXY_SSL_HEADER", default=[]):
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header)

# Mail (password reset): printed to the console by default; EMAIL_URL=smtp+tls://user:pass@host:587
# (any URL django-environ reads) sends it.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Cool Papers <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

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
    "papers.readers",
    "search",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "papers.middleware.EdgeChecksMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Longer query strings are refused with a 414 (gunicorn.conf.py lets them through to say so in
# each surface's error shape); the API's q promises 2,000 characters, percent-encoded well below.
MAX_QUERY_STRING_BYTES = 32_768

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
                "papers.library.reader.reading_context",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The same backend, making DATA_DIR on first connection (papers/sqlite).
    DATABASES["default"]["ENGINE"] = "papers.sqlite"
    # WAL lets the web processes read while the worker writes; IMMEDIATE avoids lock upgrades
    # failing half-way through a write transaction.
    DATABASES["default"]["OPTIONS"] = {
        # Sorts and groupings in memory: reads never need temporary files (nor a free disk).
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA temp_store=MEMORY;",
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
# Seconds clients are asked to wait (Retry-After) when the search engine is unavailable.
SEARCH_RETRY_AFTER = 30
# A search request to Elasticsearch: seconds per attempt (connect and read) and retries. The
# total, timeout x (1 + retries) = 10 s, stays well below gunicorn's 30 s worker timeout
# (gunicorn.conf.py), so a hung cluster gets a 503 instead of a killed worker.
SEARCH_ENGINE_TIMEOUT = env.float("SEARCH_ENGINE_TIMEOUT", default=5.0)
SEARCH_ENGINE_RETRIES = env.int("SEARCH_ENGINE_RETRIES", default=1)
SEARCH_MAX_PAGE_SIZE = 100
SEARCH_MAX_RESULT_WINDOW = 10_000
# How many BM25 candidates a reranker (hybrid search) may ask for.
SEARCH_MAX_CANDIDATES = 1000
# Papers per indexing task and per bulk request.
SEARCH_INDEX_CHUNK_SIZE = 500
# How often beat compares the index with the database and repairs drift.
SEARCH_RECONCILE_EVERY_SECONDS = env.int("SEARCH_RECONCILE_EVERY_SECONDS", default=30 * 60)

# --- Rate limits ---------------------------------------------------------------------------
# Client identity: the socket address, or behind this many reverse proxies (each appending to
# X-Forwarded-For) the address the outermost one saw. 0: X-Forwarded-For is ignored.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Per client and fixed window, counted in the shared cache; "" disables one (bench/api_load.py).
RATE_LIMITS = {
    "api": env.str("API_ANON_RATE", default="120/min"),  # /api/v1 without a token, per address
    "api_token": env.str("API_USER_RATE", default="600/min"),  # /api/v1 with a token, per user
    "arxiv_query": env.str("ARXIV_QUERY_RATE", default="30/min"),  # /api/query, per address
    "search": env.str("SEARCH_RATE", default="60/min"),  # searches on /search, per address
    "signup": env.str("SIGNUP_RATE", default="10/h"),  # sign-up attempts, per address
    "login": env.str("LOGIN_RATE", default="30/15min"),  # log-in attempts, per address
    "login_user": env.str("LOGIN_USER_RATE", default="5/15min"),  # failed log-ins, per username
    "password_reset": env.str("PASSWORD_RESET_RATE", default="5/h"),  # reset mails, per address
}

# --- JSON API -------------------------------------------------------------------------------
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
    # kombu's filesystem transport, making its folders on first use (papers.broker).
    CELERY_BROKER_TRANSPORT = "papers.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.5,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# One queue per kind of work, so none waits behind another's backlog (a resumed ingestion
# behind a thousand enrichment batches): a worker consumes every queue, taking from each in
# turn (kombu cycles fairly over them, on files and on Redis), and a deployment may give a
# queue workers of its own (celery worker -Q enrich).
CELERY_TASK_QUEUES = [Queue(name) for name in ("ingest", "index", "enrich", "celery")]
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "papers.tasks.*": {"queue": "ingest"},
    "search.tasks.*": {"queue": "index"},
    "papers.enrichment.tasks.*": {"queue": "enrich"},
}
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
# A training run whose worker stopped reporting for this long is resumed by another.
ML_TRAINING_STALE_AFTER_SECONDS = env.int("ML_TRAINING_STALE_AFTER_SECONDS", default=5 * 60)
# Hybrid search (search.hybrid): candidates from BM25 and from the dense index, fused. Chosen
# on SciFact train with bench/relevance.py (its `tuning` table).
SEARCH_LEXICAL_CANDIDATES = env.int("SEARCH_LEXICAL_CANDIDATES", default=100)
SEARCH_DENSE_CANDIDATES = env.int("SEARCH_DENSE_CANDIDATES", default=100)
SEARCH_FUSION_METHOD = env.str("SEARCH_FUSION_METHOD", default="zscore")
SEARCH_FUSION_WEIGHT = env.float("SEARCH_FUSION_WEIGHT", default=0.5)
# Papers holding every plain word first in hybrid rankings (BM25-only rankings always do).
SEARCH_ALL_WORDS_FIRST = env.bool("SEARCH_ALL_WORDS_FIRST", default=True)
# Query vectors remembered per process (0: encode every query).
SEARCH_QUERY_VECTOR_CACHE = env.int("SEARCH_QUERY_VECTOR_CACHE", default=2048)
RELATED_PAPERS = 8
RECOMMENDATION_DAYS = env.int("RECOMMENDATION_DAYS", default=14)

# --- Readers: popularity, digests, library import -----------------------------------------
# Popularity = sum of weight * 0.5 ** (age in days / half-life) over stars, read marks, visits.
POPULARITY_WEIGHTS = {"star": 5.0, "read": 3.0, "view": 1.0}
POPULARITY_HALF_LIFE_DAYS = env.float("POPULARITY_HALF_LIFE_DAYS", default=3.0)
# The "Popular" sort of lists and searches counts this many days back.
POPULARITY_WINDOW_DAYS = 30
# Each process writes the visits it counted at most this often (and when it exits).
POPULARITY_FLUSH_SECONDS = env.float("POPULARITY_FLUSH_SECONDS", default=10.0)
# The /popular rankings are kept in the shared cache this long (the periodic task refreshes).
POPULARITY_CACHE_SECONDS = 10 * 60
# Per-day visit rows older than this are deleted by the periodic task.
POPULARITY_KEEP_DAYS = 90
# Papers of an imported library missing here may be fetched from the arXiv API (queued runs).
LIBRARY_IMPORT_FETCH_FROM_ARXIV = env.bool("LIBRARY_IMPORT_FETCH_FROM_ARXIV", default=False)
LIBRARY_IMPORT_MAX_BYTES = 5 * 1024 * 1024
LIBRARY_IMPORT_MAX_ITEMS = 5000
# Links in emails start with this (the site's public address).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# Digests: For you picks per email; unsubscribe links stay valid this long.
DIGEST_PICKS = 10
DIGEST_SEARCH_PAPERS = 10
DIGEST_UNSUBSCRIBE_MAX_AGE_DAYS = 60
# For you: a star's weight halves every this many days (recently starred count more).
RECOMMENDATION_STAR_HALF_LIFE_DAYS = env.float("RECOMMENDATION_STAR_HALF_LIFE_DAYS", default=90.0)

CELERY_BEAT_SCHEDULE = {
    # Catches up on anything a crashed worker or a stopped web process left unenriched.
    "enrichment-maintenance": {
        "task": "papers.enrichment.tasks.maintain_enrichment",
        "schedule": 15 * 60,
    },
    # Workers run this themselves too (papers.background); beat is a second safety net.
    "runs-recovery": {
        "task": "papers.tasks.recover_runs",
        "schedule": 5 * 60,
    },
    # Repairs index drift nothing else caught (see search.reconcile).
    "search-reconcile": {
        "task": "search.tasks.reconcile_index",
        "schedule": SEARCH_RECONCILE_EVERY_SECONDS,
    },
    "popularity-refresh": {
        "task": "papers.readers.tasks.refresh_popularity",
        "schedule": 5 * 60,
    },
    # Hourly: each reader's daily (or weekly) digest goes out in the first run of its period.
    "email-digests": {"task": "papers.readers.tasks.send_digests", "schedule": 60 * 60},
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
# The admin ingests snapshot files only from here (and saves uploads here); empty means
# DATA_DIR/import. The command line (manage.py ingest snapshot PATH) reads any path given.
INGEST_IMPORT_DIR = env.str("INGEST_IMPORT_DIR", default="")
INGEST_BATCH_SIZE = env.int("INGEST_BATCH_SIZE", default=1000)
# A run keeps the first this many failed records (ids and reasons) on its row; the count per
# reason and the total are exact.
INGEST_MAX_RECORDED_FAILURES = 20
# A run whose worker stopped reporting for this long is presumed dead and resumed by another
# worker (papers.background): workers beat every RUN_HEARTBEAT_SECONDS while they work, also
# during long fetches. RECOVERY_INTERVAL_SECONDS is how often each worker looks for such runs
# (and for stalled enrichment). A queued run nobody took for RUN_QUEUED_LOST_AFTER_SECONDS is
# queued again: its message was lost, as when a worker is killed after taking the message and
# before claiming the run (the file broker drops such a message; Redis gives it back only after
# its one-hour visibility timeout). A second message for a run is harmless: it finds the run
# claimed or done.
INGEST_STALE_AFTER_SECONDS = env.int("INGEST_STALE_AFTER_SECONDS", default=2 * 60)
RUN_HEARTBEAT_SECONDS = env.float("RUN_HEARTBEAT_SECONDS", default=20)
RECOVERY_INTERVAL_SECONDS = env.float("RECOVERY_INTERVAL_SECONDS", default=60)
RUN_QUEUED_LOST_AFTER_SECONDS = env.int("RUN_QUEUED_LOST_AFTER_SECONDS", default=15 * 60)
