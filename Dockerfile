# certdesk: one image for the web, worker and beat processes (see docker-compose.yml).
#   docker build -t certdesk .
#   docker run ... certdesk web|worker|beat|<any command>     (docker/entrypoint.sh)

# --- build: install certdesk and its dependencies into a virtualenv -----------------------------
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# README.m[d]: pyproject.toml names README.md; the glob lets the build go on without it.
COPY pyproject.toml README.m[d] ./
COPY config ./config
COPY certificates ./certificates
# Every dependency ships wheels for Linux (psycopg[binary], cryptography, argon2-cffi), so the slim
# image needs no compiler.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir .

# --- runtime ------------------------------------------------------------------------------------
FROM python:3.11-slim

# PYTHONPATH=/app: pip also installed config/ and certificates/ into site-packages, but settings
# find templates/, static/ and var/ through BASE_DIR (the parent of config/), so the copy under
# /app must be the one imported, by gunicorn, celery and manage.py alike.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=config.settings \
    CERTDESK_VAR_DIR=/app/var

# A home of its own: gunicorn (25.1+) puts its control socket in ~/.gunicorn/.
RUN groupadd --system --gid 10001 certdesk \
    && useradd --system --uid 10001 --gid certdesk --create-home --home-dir /home/certdesk \
        --shell /usr/sbin/nologin certdesk

WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# The code stays owned by root, read-only to the process; only /app/var is writable.
COPY manage.py ./
COPY config ./config
COPY certificates ./certificates
COPY templates ./templates
COPY static ./static
COPY docker/entrypoint.sh ./docker/entrypoint.sh
# /app/var holds collected static files and beat's schedule. Owned here so a named volume mounted
# on it starts out owned by certdesk (Docker copies the image's folder into an empty volume).
RUN chmod 0755 docker/entrypoint.sh \
    && mkdir -p /app/var \
    && chown certdesk:certdesk /app/var

# collectstatic is NOT run here but by `entrypoint.sh web` at each start: production stores static
# files with whitenoise's manifest storage, which only production settings (real secrets) select,
# and STATIC_ROOT is /app/var/static, inside the volume, where files collected at build time would
# hide the new ones after an upgrade (Docker seeds a named volume from the image only once).

USER certdesk:certdesk
EXPOSE 8000

# Sends the first ALLOWED_HOSTS name as Host (Django answers 400 to any other) and
# X-Forwarded-Proto: https, which CERTDESK_BEHIND_PROXY=true trusts, so SECURE_SSL_REDIRECT does not
# bounce the probe to an https:// port gunicorn does not serve. 503 raises, so the check fails.
# Only the web process listens; docker-compose.yml disables this check for worker and beat.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; h = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.'); h = h if h not in ('', '*') else 'localhost'; r.urlopen(r.Request('http://127.0.0.1:8000/healthz', headers={'Host': h, 'X-Forwarded-Proto': 'https'}), timeout=8)"]

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
