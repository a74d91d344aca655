#!/bin/sh
# certdesk's container entry point: one image, three processes (docker-compose.yml).
#   web     migrate, collect static files, then serve with gunicorn on :8000
#   worker  the Celery worker
#   beat    the Celery scheduler; run exactly ONE, or every reminder goes out twice
# Anything else is run as given, e.g. `docker compose run --rm web python manage.py createsuperuser`.
# Extra arguments after web/worker/beat are passed on to gunicorn or celery.
set -eu

if [ "$#" -eq 0 ]; then
    set -- web
fi

case "$1" in
    web)
        shift
        python manage.py migrate --no-input
        # A fresh installation prints its first-run setup code in the container's log.
        python manage.py setup_code --if-needed
        # Here, not at build time: STATIC_ROOT lives under /app/var (a volume that would keep the
        # previous image's files) and production's manifest storage needs production settings.
        python manage.py collectstatic --no-input
        # Request limits, timeout and the masked access log: config/gunicorn_conf.py.
        exec gunicorn config.wsgi --config python:config.gunicorn_conf \
            --bind 0.0.0.0:8000 --workers "${WEB_CONCURRENCY:-2}" "$@"
        ;;
    worker)
        shift
        exec celery -A config worker --loglevel "${LOG_LEVEL:-INFO}" "$@"
        ;;
    beat)
        shift
        exec celery -A config beat --loglevel "${LOG_LEVEL:-INFO}" \
            --schedule "${CERTDESK_VAR_DIR:-/app/var}/celerybeat-schedule" "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
