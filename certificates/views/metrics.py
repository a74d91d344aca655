"""/metrics for Prometheus: no login (a scraper cannot log in), its own credential instead.

Routed in ``certificates/urls.py``. Who may scrape is :mod:`certificates.metrics.access`; what it
reads, :mod:`certificates.metrics.exposition`. The view touches neither the session nor the user:
a scrape writes nothing and sets no cookie.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from certificates.metrics import access
from certificates.metrics.exposition import CONTENT_TYPE, scrape


@login_not_required  # the bearer token or the address is the credential
@require_safe
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """200 with the metrics; 404 when neither CERTDESK_METRICS_TOKEN nor
    CERTDESK_METRICS_ALLOWED_IPS is set, 403 from another address, 401 without the token."""
    verdict = access.verdict(request)
    if verdict is access.Verdict.DISABLED:
        raise Http404("Metrics are not enabled.")
    if verdict is access.Verdict.ADDRESS:
        return HttpResponse(
            "Metrics are not served to this address (CERTDESK_METRICS_ALLOWED_IPS).\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    if verdict is access.Verdict.NO_TOKEN:
        response = HttpResponse(
            "Send the metrics token: Authorization: Bearer <CERTDESK_METRICS_TOKEN>.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="certdesk metrics"'
        return response
    return HttpResponse(scrape(), content_type=CONTENT_TYPE)
