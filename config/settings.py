"""certdesk settings, every one read from the environment (see .env.example).

With nothing set, the embedded default runs on a laptop: SQLite, Celery's file-system broker and
emails written as files, all under ``var/``. ``DJANGO_ENV=production`` turns on the checks that
refuse an unsafe deployment. https://docs.djangoproject.com/en/5.2/ref/settings/
"""

from __future__ import annotations

from datetime import timedelta
from email.utils import getaddresses
from ipaddress import ip_network
from pathlib import Path
from urllib.parse import urlsplit

import environ

from config.environment import (
    DEVELOPMENT_SECRET_KEY,
    audit_key_problem,
    refuse_unsafe_production,
)

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production"}:
    raise environ.ImproperlyConfigured(
        f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}."
    )
PRODUCTION = DJANGO_ENV == "production"
VAR_DIR = Path(env.str("CERTDESK_VAR_DIR", default=str(BASE_DIR / "var")))
# The laptop's data folder: SQLite, the broker's queue, mail files, the development key file.
# Owner-only (0700 folders, 0600 files), created so and tightened at every process start
# (config.environment.prepare_private_files, from CertificatesConfig.ready): declared here only.
CERTDESK_PRIVATE_FOLDERS: list[str] = [str(VAR_DIR / "static")]
CERTDESK_PRIVATE_SQLITE_FILE = ""

# Off by default even on a laptop: a debug page could show request data of key views.
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION else DEVELOPMENT_SECRET_KEY)
# Former keys, still accepted (never used to sign) while SECRET_KEY is rotated: sessions stay
# valid until the fallback is removed (docs/operations.md).
# https://docs.djangoproject.com/en/5.2/ref/settings/#secret-key-fallbacks
SECRET_KEY_FALLBACKS: list[str] = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Private keys are encrypted with the first of these and decrypted with any (rotation:
# docs/operations.md).
# Unset on a laptop: the key file below is created at first use (certificates/keyfiles.py),
# never when the settings are imported; production refuses to start without the variable.
CERTDESK_ENCRYPTION_KEYS: list[str] = env.list("CERTDESK_ENCRYPTION_KEYS", default=[])
CERTDESK_ENCRYPTION_KEY_FILE: Path | None = None if PRODUCTION else VAR_DIR / "encryption.key"

# Keys the audit log's chain (an HMAC per event) and its checkpoints: urlsafe base64 of 32
# bytes, kept apart from the database and its backups, so a database writer cannot recompute
# the chain. Unset on a laptop: var/audit.key, created at first use; production refuses to start.
CERTDESK_AUDIT_KEY = env.str("CERTDESK_AUDIT_KEY", default="")
CERTDESK_AUDIT_KEY_FILE: Path | None = None if PRODUCTION else VAR_DIR / "audit.key"
if (
    CERTDESK_AUDIT_KEY
    and not PRODUCTION
    and (_audit_key_problem := audit_key_problem(CERTDESK_AUDIT_KEY))
):
    raise environ.ImproperlyConfigured(f"{_audit_key_problem}.")

if PRODUCTION:
    refuse_unsafe_production(
        secret_key=SECRET_KEY,
        debug=DEBUG,
        encryption_keys=CERTDESK_ENCRYPTION_KEYS,
        audit_key=CERTDESK_AUDIT_KEY,
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # allauth's session and passkey lists print "3 minutes ago".
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    # Accounts (login, e-mail flows, reauthentication), second factors, single sign-on and the
    # list of a person's sessions: django-allauth (docs/guide/accounts.md).
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.usersessions",
    # The REST API (certificates/api/, issue 17): django-ninja, here for its Swagger UI files.
    "ninja",
    # Request, database and cache metrics for /metrics (issue 18, docs/monitoring.md).
    "django_prometheus",
    "certificates",
]

MIDDLEWARE = [
    # Counts every request and times it through all the middleware below (/metrics).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # First: forwarded headers only from CERTDESK_TRUSTED_PROXIES, and a body over
    # CERTDESK_REQUEST_MAX_BYTES refused (413) before anything reads it (certificates/middleware).
    "certificates.middleware.TrustedProxyMiddleware",
    "certificates.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # allauth's request context, and the stash-and-resume of an action that needed the
    # password again (sudo mode); then the list of each person's sessions (Profile).
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    # Logs out a session older than CERTDESK_SESSION_MAX_HOURS, however active.
    "certificates.middleware.SessionMaxAgeMiddleware",
    "certificates.middleware.FirstRunMiddleware",
    # Every page needs a login unless its view says otherwise (login, first run, /healthz).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A 403/404 at a private-key URL is audited as key.export_refused.
    "certificates.middleware.KeyExportRefusalMiddleware",
    # A ServiceError, crypto error or VaultError a view let through: a clear page, not a 500.
    "certificates.middleware.DomainErrorMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
    # Counts each response by view, method and status (/metrics); innermost, so it sees them all.
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "certificates.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
# A reused connection is checked before its first query of each request, so a PostgreSQL restart
# costs a reconnect, not a 500 on the first request of every worker.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Bounded waits (issue 13): no service may hold a request or a command for good. Connecting to
# PostgreSQL gives up after this long (libpq's connect_timeout; 2 s at least). The health probe
# and the monitoring commands also bound each statement (certificates/selectors/health.py,
# certificates/management/commands/_common.py); other queries are not bounded by certdesk.
CERTDESK_DB_CONNECT_TIMEOUT_SECONDS = env.int("CERTDESK_DB_CONNECT_TIMEOUT_SECONDS", default=3)
# Statement timeout of list_certificates and verify_audit_log on PostgreSQL, per statement.
CERTDESK_MONITORING_STATEMENT_TIMEOUT_SECONDS = env.int(
    "CERTDESK_MONITORING_STATEMENT_TIMEOUT_SECONDS", default=30
)
# /healthz's budget: every check runs at once and any not done within it is reported down, so
# the probe answers within about this long whatever is down or frozen (keep it under 5).
CERTDESK_HEALTH_TIMEOUT_SECONDS = env.float("CERTDESK_HEALTH_TIMEOUT_SECONDS", default=3.0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", CERTDESK_DB_CONNECT_TIMEOUT_SECONDS
    )
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web, worker and beat share one file; WAL and a busy timeout keep them from tripping up.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        # secure_delete: freed content is zeroed, so a destroyed key leaves no bytes behind
        # (with the checkpoint of certificates/dbfiles.py; docs/operations.md).
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA secure_delete=ON;",
    }
    _sqlite_name = str(DATABASES["default"].get("NAME") or "")
    if _sqlite_name not in {"", ":memory:"}:
        # Sessions and password hashes: created 0600 before SQLite would create it with the umask.
        CERTDESK_PRIVATE_SQLITE_FILE = _sqlite_name
# The same database backends, with their connections, queries and errors counted by
# django-prometheus (/metrics). Compare ``connection.vendor``, never ENGINE, below this line.
DATABASES["default"]["ENGINE"] = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}.get(DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# Connect and read timeout of every Redis client (broker, cache, result backend): a Redis that
# is down or frozen fails a send or a page within seconds instead of holding it until gunicorn
# kills the worker.
CERTDESK_REDIS_TIMEOUT_SECONDS = env.float("CERTDESK_REDIS_TIMEOUT_SECONDS", default=3.0)
CACHES = {
    "default": env.cache_url("CACHE_URL", default=REDIS_URL or f"filecache://{VAR_DIR / 'cache'}")
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Handed to redis-py's connection pool.
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {
            "socket_connect_timeout": CERTDESK_REDIS_TIMEOUT_SECONDS,
            "socket_timeout": CERTDESK_REDIS_TIMEOUT_SECONDS,
        }
    )
# The same cache backends, their reads (hits and misses) counted for /metrics (config/cachemetrics).
CACHES["default"]["BACKEND"] = {
    "django.core.cache.backends.redis.RedisCache": "config.cachemetrics.RedisCache",
    "django.core.cache.backends.filebased.FileBasedCache": "config.cachemetrics.FileBasedCache",
    "django.core.cache.backends.locmem.LocMemCache": "config.cachemetrics.LocMemCache",
}.get(CACHES["default"]["BACKEND"], CACHES["default"]["BACKEND"])

# Argon2 first (new and upgraded hashes); the others only read hashes made before a change.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- Accounts: django-allauth 65 -----------------------------------------------------------
# https://docs.allauth.org/en/latest/account/configuration.html
# Nobody signs up: people are invited (Settings -> People, manage.py invite_user), or arrive
# through single sign-on. The adapter closes the sign-up form and audits what allauth does.
ACCOUNT_ADAPTER = "certificates.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "certificates.sso.SocialAccountAdapter"
MFA_ADAPTER = "certificates.adapters.MFAAdapter"
USERSESSIONS_ADAPTER = "certificates.adapters.UserSessionsAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# Addresses are confirmed when they change (a link to the new one); logging in does not wait
# for a confirmation, since an administrator or an invitation link vouched for the first one.
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[certdesk] "
# Password reset never tells whether an address has an account, and writes to none that has not.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_LOGIN_BY_CODE_ENABLED = False
# A session lasts CERTDESK_SESSION_IDLE_MINUTES idle at most: no "remember me".
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_LOGOUT_ON_GET = False
# Sudo mode: a sensitive action asks for the password or the second factor again past this
# (certificates/views/sudo.py), then resumes the action.
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_REAUTHENTICATION_METHODS = ("password", "mfa")
# django-axes counts failed passwords (below), at the login and at sudo mode's password check;
# allauth's own limits for both would lock at other counts with another page (and 30 logins a
# minute from one office NAT is a normal morning), so they are off. Its other limits
# (password-reset emails, address confirmations) stay.
ACCOUNT_RATE_LIMITS = {"login": False, "login_failed": False, "reauthenticate": False}
ACCOUNT_DEFAULT_HTTP_PROTOCOL = (
    "https" if env.bool("CERTDESK_HTTPS", default=PRODUCTION) else "http"
)
# Second factors: TOTP with recovery codes, and passkeys (WebAuthn) as a second factor.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = env.str("CERTDESK_MFA_TOTP_ISSUER", default="certdesk")
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not PRODUCTION
MFA_RECOVERY_CODE_COUNT = 10
# allauth refuses a second factor until the address is confirmed, against strangers who sign
# up with someone else's address; nobody signs up here (an administrator or an invitation
# vouched for the address), and the policy must be able to ask for a factor at once.
MFA_ALLOW_UNVERIFIED_EMAIL = True
# Who must have a second factor: "custodians" (administrators and custodians), "everyone",
# "off". Without one they are led to enrol at login, and refused key downloads and
# destruction until they have (certificates/mfa_policy.py).
CERTDESK_MFA_REQUIRED = env.str("CERTDESK_MFA_REQUIRED", default="custodians")
if CERTDESK_MFA_REQUIRED not in {"custodians", "everyone", "off"}:
    raise environ.ImproperlyConfigured(
        f"CERTDESK_MFA_REQUIRED must be 'custodians', 'everyone' or 'off', "
        f"not {CERTDESK_MFA_REQUIRED!r}."
    )
# Invitation links expire after this long (and work once).
CERTDESK_INVITATION_HOURS = env.int("CERTDESK_INVITATION_HOURS", default=72)
# Single sign-on: OpenID Connect, the provider found by discovery from its issuer URL.
CERTDESK_OIDC_ISSUER = env.str("CERTDESK_OIDC_ISSUER", default="").rstrip("/")
CERTDESK_OIDC_CLIENT_ID = env.str("CERTDESK_OIDC_CLIENT_ID", default="")
CERTDESK_OIDC_CLIENT_SECRET = env.str("CERTDESK_OIDC_CLIENT_SECRET", default="")
# The button's label: "Sign in with <name>".
CERTDESK_OIDC_NAME = env.str("CERTDESK_OIDC_NAME", default="single sign-on")
# A claim listing values like "certdesk:production:custodian": the person's roles, set at each
# SSO login. Empty: roles are given in certdesk by an administrator.
CERTDESK_OIDC_ROLES_CLAIM = env.str("CERTDESK_OIDC_ROLES_CLAIM", default="")
# false: only superusers may log in with a password (break-glass); everyone else uses SSO.
CERTDESK_PASSWORD_LOGIN = env.bool("CERTDESK_PASSWORD_LOGIN", default=True)
if bool(CERTDESK_OIDC_ISSUER) != bool(CERTDESK_OIDC_CLIENT_ID):
    raise environ.ImproperlyConfigured(
        "Single sign-on needs both CERTDESK_OIDC_ISSUER and CERTDESK_OIDC_CLIENT_ID."
    )
# A half configuration would otherwise show up as a login page that cannot work.
if not CERTDESK_OIDC_ISSUER and (CERTDESK_OIDC_CLIENT_SECRET or CERTDESK_OIDC_ROLES_CLAIM):
    raise environ.ImproperlyConfigured(
        "CERTDESK_OIDC_CLIENT_SECRET and CERTDESK_OIDC_ROLES_CLAIM take effect only with "
        "single sign-on: set CERTDESK_OIDC_ISSUER and CERTDESK_OIDC_CLIENT_ID too."
    )
if CERTDESK_OIDC_ISSUER and not CERTDESK_OIDC_ISSUER.startswith(
    "https://" if PRODUCTION else ("https://", "http://")
):
    raise environ.ImproperlyConfigured(
        f"CERTDESK_OIDC_ISSUER must be the provider's https:// issuer URL (as its "
        f"/.well-known/openid-configuration says), not {CERTDESK_OIDC_ISSUER!r}."
    )
if not CERTDESK_PASSWORD_LOGIN and not CERTDESK_OIDC_ISSUER:
    raise environ.ImproperlyConfigured(
        "CERTDESK_PASSWORD_LOGIN=false leaves single sign-on as the only way in for everyone "
        "but administrators: set CERTDESK_OIDC_ISSUER and CERTDESK_OIDC_CLIENT_ID too."
    )
# The "Sign in with" form's POST ends in a redirect to the provider, which browsers check against
# the Content-Security-Policy's form-action (below): the provider's origin must be allowed.
_oidc_issuer = urlsplit(CERTDESK_OIDC_ISSUER)
CERTDESK_OIDC_FORM_ACTION = (
    [f"{_oidc_issuer.scheme}://{_oidc_issuer.netloc}"] if CERTDESK_OIDC_ISSUER else []
)
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": "sso",
                "name": CERTDESK_OIDC_NAME,
                "client_id": CERTDESK_OIDC_CLIENT_ID,
                "secret": CERTDESK_OIDC_CLIENT_SECRET,
                "settings": {
                    "server_url": CERTDESK_OIDC_ISSUER,
                    "token_auth_method": "client_secret_basic"
                    if CERTDESK_OIDC_CLIENT_SECRET
                    else "none",
                },
            }
        ]
        if CERTDESK_OIDC_ISSUER
        else [],
    }
}
# Matched by verified address with an existing person; a first login creates one (no role).
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_QUERY_EMAIL = True
# The session list on Profile: which browser, from where, last seen.
USERSESSIONS_TRACK_ACTIVITY = True

# Login throttling (django-axes 8): failed passwords at /login/, /admin/login/ and
# /reauthenticate/ are counted, and past the limit every attempt is refused for the cool-off.
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out attempt before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    # Refuses a password login of a non-superuser when CERTDESK_PASSWORD_LOGIN is false.
    "certificates.adapters.PasswordLoginBackend",
]
# allauth's login form sends the name in "login" and authenticates with "username" or "email":
# one count per account whichever was typed (certificates/lockout.py).
AXES_USERNAME_CALLABLE = "certificates.lockout.attempted_username"
# Per account (user name): this many failures lock it for the cool-off.
AXES_FAILURE_LIMIT = env.int("CERTDESK_LOGIN_FAILURE_LIMIT", default=5)
# Per address: a much higher limit, so colleagues behind one NAT are not locked out together by
# one person's typos; it still stops one source spraying guesses over many accounts.
CERTDESK_LOGIN_ADDRESS_FAILURE_LIMIT = env.int("CERTDESK_LOGIN_ADDRESS_FAILURE_LIMIT", default=50)
# Applies the two limits separately (axes itself has one limit for every parameter).
AXES_HANDLER = "certificates.lockout.CertdeskAxesHandler"
CERTDESK_LOGIN_COOLOFF_MINUTES = env.int("CERTDESK_LOGIN_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=CERTDESK_LOGIN_COOLOFF_MINUTES)
# Counted per user name AND, separately, per address; either reaching ITS limit locks. Per user
# stops guesses at one account spread over many addresses (a botnet); per address stops one
# source trying a few passwords on every account (spraying). The combination ("this user from
# this address") would stop neither. The price: anyone can lock an account for the cool-off by
# failing on purpose, which the bounded cool-off and an administrator's unlock
# (docs/operations.md) answer.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Kept off: a success would wipe the counts of its address too, so an attacker holding any
# account could log in with it between guesses at another and never be locked out.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "certificates/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# No start-up banner on the stderr of every manage.py command; failures and lockouts are still
# logged (WARNING), with the user name and address masked.
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Serve straight from the source folders when collectstatic has not run (laptop, tests).
WHITENOISE_USE_FINDERS = not PRODUCTION

# Email: files under var/mail/ by default, so a laptop user can read what would have gone out.
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-email-url
# Four slashes: django-environ drops the first one of the path, which must stay absolute.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default=f"filemail:///{VAR_DIR / 'mail'}")
vars().update(EMAIL_CONFIG)
# Every message goes through the outgoing guard (rule 3), which hands it to EMAIL_URL's backend.
CERTDESK_EMAIL_BACKEND = EMAIL_CONFIG["EMAIL_BACKEND"]
if CERTDESK_EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend":
    # The same files, created owner-only (config/mailfiles.py).
    CERTDESK_EMAIL_BACKEND = "config.mailfiles.PrivateFileEmailBackend"
    CERTDESK_PRIVATE_FOLDERS.append(str(EMAIL_CONFIG["EMAIL_FILE_PATH"]))
EMAIL_BACKEND = "certificates.mailbackend.GuardedEmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="certdesk <certdesk@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# Celery: Redis in production; with no broker set, a file-system broker under var/celery/.
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
    # The worker and the web process must find the folders before the first message.
    CERTDESK_PRIVATE_FOLDERS += [str(folder) for folder in CELERY_BROKER_TRANSPORT_OPTIONS.values()]
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        # kombu's Redis transport hands these to redis-py: a publish to a frozen broker fails
        # after the timeout (times Celery's publish retries) instead of hanging for minutes.
        "socket_connect_timeout": CERTDESK_REDIS_TIMEOUT_SECONDS,
        "socket_timeout": CERTDESK_REDIS_TIMEOUT_SECONDS,
    }
# Connecting to the broker (any transport) gives up after this long.
CELERY_BROKER_CONNECTION_TIMEOUT = CERTDESK_REDIS_TIMEOUT_SECONDS
# The same for a Redis result backend, when one is set.
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = CERTDESK_REDIS_TIMEOUT_SECONDS
CELERY_REDIS_SOCKET_TIMEOUT = CERTDESK_REDIS_TIMEOUT_SECONDS
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# How often the expiry scan runs (rules 7 and 9); a missed run is caught up by the next one.
CERTDESK_EXPIRY_SCAN_SECONDS = env.int("CERTDESK_EXPIRY_SCAN_SECONDS", default=3600)
# How often beat hands again to the broker the outbox emails stored while it was down (or whose
# task it lost): those queued longer than this and never attempted. An email waiting for the
# broker leaves within about twice this after the broker is back.
CERTDESK_OUTBOX_REQUEUE_SECONDS = env.int("CERTDESK_OUTBOX_REQUEUE_SECONDS", default=60)
# Issue 18: seconds to connect to a Slack, Teams or webhook endpoint, and as many to read its
# answer; past it the notification fails and is retried with the emails' backoff.
CERTDESK_NOTIFICATION_TIMEOUT_SECONDS = env.float(
    "CERTDESK_NOTIFICATION_TIMEOUT_SECONDS", default=10.0
)
# One static schedule, read by the single beat process.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "outbox-requeue": {
        "task": "certificates.tasks.outbox_requeue",
        "schedule": timedelta(seconds=CERTDESK_OUTBOX_REQUEUE_SECONDS),
        # Runs that piled up while no worker took them are dropped: the next one does it all.
        "options": {"expires": CERTDESK_OUTBOX_REQUEUE_SECONDS},
    },
    "heartbeat": {
        "task": "certificates.tasks.heartbeat",
        "schedule": timedelta(seconds=env.int("CERTDESK_HEARTBEAT_SECONDS", default=300)),
    },
    "expiry-scan": {
        "task": "certificates.tasks.expiry_scan",
        "schedule": timedelta(seconds=CERTDESK_EXPIRY_SCAN_SECONDS),
    },
    # The audit log's signed checkpoint, to the log stream and (when the log grew) by email to
    # the administrators: what verify_audit_log --checkpoint detects truncation with.
    "audit-checkpoint": {
        "task": "certificates.tasks.audit_checkpoint",
        "schedule": timedelta(seconds=env.int("CERTDESK_AUDIT_CHECKPOINT_SECONDS", default=3600)),
    },
}

# Domain settings (DESIGN.md, rules 7 and 9).
CERTDESK_RENEWAL_LEAD_DAYS = env.int("CERTDESK_RENEWAL_LEAD_DAYS", default=30)
CERTDESK_REMINDER_DAYS = sorted(
    {
        int(day)
        for day in env.list("CERTDESK_REMINDER_DAYS", default=["30", "14", "7", "3", "1", "0"])
    },
    reverse=True,
)
# Uploads (CSRs, certificates, CA bundles) larger than this are refused before parsing.
CERTDESK_UPLOAD_MAX_BYTES = env.int("CERTDESK_UPLOAD_MAX_BYTES", default=1_000_000)
# Whole request bodies: two files of the upload limit (a form may carry a certificate and a CA
# bundle) plus 64 KiB for the multipart headers and the other fields. Larger ones are refused
# with 413 before they are read (certificates/middleware.py), chunked ones included.
CERTDESK_REQUEST_MAX_BYTES = CERTDESK_UPLOAD_MAX_BYTES * 2 + 64 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = CERTDESK_REQUEST_MAX_BYTES
# Uploaded files stay in memory up to the body limit, so none is ever spooled to a temp file.
FILE_UPLOAD_MAX_MEMORY_SIZE = CERTDESK_REQUEST_MAX_BYTES
# Links in emails: by default the address `make run` serves (config/run.py, PORT included).
CERTDESK_SITE_URL = env.str(
    "CERTDESK_SITE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}"
).rstrip("/")
# REST API (issue 17): calls a minute per API token, counted in the cache; past it, 429 with
# Retry-After. 0: no limit.
CERTDESK_API_RATE_LIMIT = env.int("CERTDESK_API_RATE_LIMIT", default=120)
# /metrics for Prometheus (docs/monitoring.md): never open by default. A bearer token the scraper
# sends (Authorization: Bearer ...), and/or the addresses or networks it may come from (the client
# address behind CERTDESK_TRUSTED_PROXIES); both set, both must hold; neither set, a 404.
CERTDESK_METRICS_TOKEN = env.str("CERTDESK_METRICS_TOKEN", default="")
if CERTDESK_METRICS_TOKEN and len(CERTDESK_METRICS_TOKEN) < 32:
    raise environ.ImproperlyConfigured(
        "CERTDESK_METRICS_TOKEN must be at least 32 characters; make one with "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'."
    )
CERTDESK_METRICS_ALLOWED_IPS: list[str] = env.list("CERTDESK_METRICS_ALLOWED_IPS", default=[])
for _metrics_network in CERTDESK_METRICS_ALLOWED_IPS:
    try:
        ip_network(_metrics_network, strict=False)
    except ValueError:
        raise environ.ImproperlyConfigured(
            f"CERTDESK_METRICS_ALLOWED_IPS: {_metrics_network!r} is not an address or a network "
            "like 10.0.0.0/8; separate entries with commas."
        ) from None
# Every certdesk command must name its user (--user USERNAME, whose roles then apply); off: a
# command without --user acts as the server operator, who holds the encryption keys anyway.
CERTDESK_CLI_REQUIRE_USER = env.bool("CERTDESK_CLI_REQUIRE_USER", default=False)

# Security headers and cookies; the secure-only ones follow HTTPS, on in production.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# No inline script or style anywhere (templates keep them in static/), so none is allowed.
# https://django-csp.readthedocs.io/en/latest/configuration.html
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", *CERTDESK_OIDC_FORM_ACTION],
    },
}
SESSION_COOKIE_HTTPONLY = True
# A session ends after this long without a request; every request pushes the end back.
CERTDESK_SESSION_IDLE_MINUTES = env.int("CERTDESK_SESSION_IDLE_MINUTES", default=30)
SESSION_COOKIE_AGE = CERTDESK_SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
# And however active, a session ends this long after its login (certificates/middleware.py).
CERTDESK_SESSION_MAX_HOURS = env.int("CERTDESK_SESSION_MAX_HOURS", default=12)
HTTPS = env.bool("CERTDESK_HTTPS", default=PRODUCTION)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
# Behind a TLS-terminating proxy (docker compose, a load balancer) that sets the header.
CERTDESK_BEHIND_PROXY = env.bool("CERTDESK_BEHIND_PROXY", default=False)
# The proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: addresses or networks
# (CIDR). Requests from any other sender have those headers removed (certificates/middleware.py).
# Loopback is always trusted (the container's own health probe). Empty with
# CERTDESK_BEHIND_PROXY=true: loopback and the private ranges (a proxy on the docker host).
CERTDESK_TRUSTED_PROXIES: list[str] = env.list("CERTDESK_TRUSTED_PROXIES", default=[])
for _proxy in CERTDESK_TRUSTED_PROXIES:
    try:
        ip_network(_proxy, strict=False)
    except ValueError:
        raise environ.ImproperlyConfigured(
            f"CERTDESK_TRUSTED_PROXIES: {_proxy!r} is not an address or a network like "
            "10.0.0.0/8; separate entries with commas."
        ) from None
if CERTDESK_BEHIND_PROXY or CERTDESK_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The address failed logins are counted against: behind the proxy, the one the proxy saw (else
# every user would share the proxy's address, and five typos anywhere would lock everyone out).
AXES_CLIENT_IP_CALLABLE = "certificates.actors.client_ip"
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

# Who gets Django's error reports (a 500 with its traceback) by email: "Name <address>, ...".
ADMINS = [
    (name, address)
    for name, address in getaddresses([env.str("CERTDESK_ADMINS", default="")])
    if name or address
]
for _name, _address in ADMINS:
    if "@" not in _address:
        raise environ.ImproperlyConfigured(
            f"CERTDESK_ADMINS: {_name or _address!r} has no email address; write "
            "'Ops <ops@example.com>, Alice <alice@example.com>'."
        )

# Rule 3: no private key in a log line, an error email or an error page. The filter is on every
# handler, so each one formats only redacted records (certificates/logfilters.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "certificates.logfilters.RedactingExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "certificates.logfilters.RedactingExceptionReporter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_private_keys": {"()": "certificates.logfilters.RedactPrivateKeys"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        # The calendar feed's token is its credential: masked in every line (config/accesslog.py).
        "mask_calendar_tokens": {"()": "config.accesslog.MaskCalendarTokens"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_private_keys", "mask_calendar_tokens"],
        },
        # Errors of requests (500s) to ADMINS, as Django does by default; nothing without ADMINS.
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "redact_private_keys", "mask_calendar_tokens"],
        },
    },
    "root": {
        "handlers": ["console"],
        "level": env.str("LOG_LEVEL", default="INFO"),
        "filters": ["redact_private_keys"],
    },
    "loggers": {
        # Replaces Django's default "django" logger, whose handlers would skip the filter.
        "django": {"handlers": ["mail_admins"]},
        "django.server": {"handlers": ["console"], "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # Apprise logs a channel's full webhook address (a credential) at DEBUG: never kept.
        "apprise": {"level": "WARNING"},
    },
}
# The worker and beat keep these handlers (and their filter) instead of installing Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
