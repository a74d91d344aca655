"""certdesk's middleware (order in config/settings.py MIDDLEWARE):

- ``TrustedProxyMiddleware``: X-Forwarded-For / X-Forwarded-Proto only from a trusted proxy;
- ``RequestBodyLimitMiddleware``: a body over CERTDESK_REQUEST_MAX_BYTES is refused (413)
  before anything reads it;
- ``SessionMaxAgeMiddleware``: a session ends CERTDESK_SESSION_MAX_HOURS after its login;
- ``FirstRunMiddleware``: a fresh installation leads to the page creating its first administrator;
- ``KeyExportRefusalMiddleware``: a refused private-key download is audited;
- ``DomainErrorMiddleware``: a domain error a view let through is a clear page, never a 500.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model, logout
from django.core.handlers.wsgi import LimitedStream, WSGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from certificates.actors import trusted_proxy
from certificates.crypto import CryptoError
from certificates.receivers import SESSION_STARTED_SESSION_KEY
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError
from certificates.vault import VaultError

logger = logging.getLogger(__name__)

# Read a chunked body in pieces of this size, never more than the limit plus one piece.
CHUNK_BYTES = 64 * 1024
# The URL names of private-key downloads (certificates/urls.py).
KEY_URL_NAMES = frozenset({"request_key", "certificate_key"})
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")


class TrustedProxyMiddleware:
    """Drop the forwarding headers of a request that did not come from a trusted proxy.

    Django believes X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER) from any sender; without this, a
    client reaching gunicorn directly could claim https, or an address of its choice in
    X-Forwarded-For. ``actors.client_ip`` applies the same rule on its own.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not trusted_proxy(request.META.get("REMOTE_ADDR")):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)


def _too_large(limit: int) -> HttpResponse:
    # No request context: the user is not known yet this early, and the body is never read.
    # No Connection: close here: WSGI forbids hop-by-hop headers from the application (runserver
    # answers 500 to one); the server closes a connection whose body was left unread.
    return HttpResponse(
        render_to_string("413.html", {"limit_kib": limit // 1024}),
        status=413,
    )


class RequestBodyLimitMiddleware:
    """Refuse a request body over CERTDESK_REQUEST_MAX_BYTES with 413, before it is parsed.

    With a Content-Length, the header alone decides: nothing is read. A chunked body (no
    Content-Length) is read in 64 KiB pieces and refused as soon as it passes the limit; a body
    within it is handed on from memory with its Content-Length set, so it is parsed as usual.
    Django's own DATA_UPLOAD_MAX_MEMORY_SIZE and FILE_UPLOAD_MAX_MEMORY_SIZE are the same limit,
    so no accepted upload is ever spooled to a temporary file.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit: int = settings.CERTDESK_REQUEST_MAX_BYTES
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared.strip():
            try:
                length = int(declared)
            except ValueError:
                length = 0  # as Django reads it: no body
            if length > limit:
                return _too_large(limit)
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and isinstance(
            request, WSGIRequest
        ):
            body = self._read_capped(request, limit)
            if body is None:
                return _too_large(limit)
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = LimitedStream(io.BytesIO(body), len(body))  # type: ignore[assignment]
        return self.get_response(request)

    @staticmethod
    def _read_capped(request: WSGIRequest, limit: int) -> bytes | None:
        """The whole chunked body, or None as soon as it passes ``limit``."""
        stream = request.environ["wsgi.input"]
        pieces: list[bytes] = []
        size = 0
        while True:
            piece = stream.read(CHUNK_BYTES)
            if not piece:
                return b"".join(pieces)
            size += len(piece)
            if size > limit:
                return None
            pieces.append(piece)


class SessionMaxAgeMiddleware:
    """Log out a session CERTDESK_SESSION_MAX_HOURS after its login, however active it is.

    The idle limit (CERTDESK_SESSION_IDLE_MINUTES) is pushed back by every request; this one is
    not, so a stolen session cookie is worth a working day at most. A session without the login
    time (made before this check existed) is logged out too. The next page then asks for the login
    as usual (LoginRequiredMiddleware).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            started = request.session.get(SESSION_STARTED_SESSION_KEY)
            max_age = settings.CERTDESK_SESSION_MAX_HOURS * 3600
            if (
                not isinstance(started, int | float)
                or timezone.now().timestamp() - started > max_age
            ):
                logout(request)
        return self.get_response(request)


class KeyExportRefusalMiddleware:
    """Audit a refused private-key download (403 or 404 at request_key / certificate_key) as
    ``key.export_refused``, with who asked (user and address, as every event), the URL name and
    the primary key asked for: someone probing for keys leaves a trace."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = request.resolver_match
        if (
            response.status_code in (403, 404)
            and match is not None
            and match.url_name in KEY_URL_NAMES
        ):
            audit_record(
                actor=Actor.from_request(request),
                action="key.export_refused",
                details={
                    "url_name": match.url_name,
                    "pk": match.kwargs.get("pk"),
                    "status": response.status_code,
                    "method": request.method,
                },
            )
        return response


# Paths that work before anyone can log in: the first-run page itself, the health probe used by
# docker compose and load balancers, Prometheus' /metrics (its own credential), and the static
# files the first-run page needs.
FIRST_RUN_OPEN_PATHS = ("/setup/", "/healthz", "/metrics")


class FirstRunMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            not request.user.is_authenticated
            and not request.path.startswith(FIRST_RUN_OPEN_PATHS)
            and not request.path.startswith("/" + settings.STATIC_URL.lstrip("/"))
            and not get_user_model().objects.exists()
        ):
            return HttpResponseRedirect(reverse("first_run"))
        return self.get_response(request)


class DomainErrorMiddleware:
    """A domain error a view let through becomes a clear page, never a 500.

    A ``ServiceError`` or a ``crypto.CryptoError`` is a refusal (400, its own message); a
    ``VaultError`` (the encryption keys cannot decrypt a stored private key) is a page that says
    what happened and whom to ask (409), its detail in the log only. Views show the refusals they
    expect next to their forms (``views.access.show_refusal``); this is the net under them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, VaultError):
            logger.warning("A private key could not be decrypted: %s", exception)
            message = (
                "certdesk could not decrypt the stored private key with its encryption keys "
                "(CERTDESK_ENCRYPTION_KEYS). Nothing was downloaded or changed: ask the "
                "administrator who runs certdesk to check the encryption keys."
            )
            status = 409
        elif isinstance(exception, ServiceError | CryptoError):
            message = str(exception)
            status = 400
        else:
            return None
        return HttpResponse(
            render_to_string("refused.html", {"message": message}, request=request),
            status=status,
        )
