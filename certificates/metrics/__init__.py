"""/metrics: certdesk in the Prometheus text format (docs/monitoring.md).

- :mod:`.access`: who may scrape (``CERTDESK_METRICS_TOKEN``, ``CERTDESK_METRICS_ALLOWED_IPS``;
  neither set: nobody, the page is a 404);
- :mod:`.collector`: certdesk's own figures, read from the database at scrape time by
  :func:`certificates.selectors.metrics.metrics_snapshot` in a fixed number of queries;
- :mod:`.exposition`: the page itself, those figures beside django-prometheus' request,
  database and cache metrics (one process, or every gunicorn worker in multiprocess mode).

Kept light: ``config/cachemetrics.py`` and the settings name nothing here.
"""
