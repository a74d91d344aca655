"""Access checks shared by the views: objects a user may not see are 404, not 403, so that a
non-member learns nothing about another environment's requests; a member whose role is too low
gets 403 with an explanation."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.utils.datastructures import MultiValueDict

from certificates import receivers

# Re-exported: the views and the tests read them here.
from certificates.actors import client_ip as client_ip
from certificates.models import Environment, SigningRequest
from certificates.permissions import Action, require, user_can
from certificates.receivers import LAST_AUTH_SESSION_KEY as LAST_AUTH_SESSION_KEY
from certificates.services.errors import ServiceError

ModelT = TypeVar("ModelT", Environment, SigningRequest)


def environment_for(request: HttpRequest, slug: str, action: Action = Action.VIEW) -> Environment:
    environment = Environment.objects.filter(slug=slug).first()
    if environment is None or not user_can(request.user, Action.VIEW, environment):
        raise Http404("No such environment.")
    require(request.user, action, environment)
    return environment


def signing_request_for(
    request: HttpRequest,
    pk: int,
    action: Action = Action.VIEW,
    queryset: QuerySet[SigningRequest] | None = None,
) -> SigningRequest:
    queryset = queryset if queryset is not None else SigningRequest.objects.all()
    signing_request = queryset.select_related("environment", "key").filter(pk=pk).first()
    if signing_request is None or not user_can(
        request.user, Action.VIEW, signing_request.environment
    ):
        raise Http404("No such request.")
    require(request.user, action, signing_request.environment)
    return signing_request


def superuser_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Administrators' pages: 403 for everyone else (login is enforced by the middleware)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not (request.user.is_active and request.user.is_superuser):
            raise PermissionDenied("Only certdesk administrators may open this page.")
        return view(request, *args, **kwargs)

    return wrapped


def authenticated_recently(request: HttpRequest) -> bool:
    return receivers.authenticated_recently(request)


def post_data(request: HttpRequest) -> QueryDict | None:
    """The POST data of a POST, even an empty one (``access.post_data(request)`` would leave an
    empty submission unbound and silently show a blank form instead of the errors)."""
    return request.POST if request.method == "POST" else None


def post_files(request: HttpRequest) -> MultiValueDict[str, UploadedFile] | None:
    return request.FILES if request.method == "POST" else None


def show_refusal(
    request: HttpRequest,
    error: ServiceError,
    form: BaseForm | None = None,
    *,
    on: str | None = None,
) -> None:
    """The one way a view shows a service's refusal.

    Each field problem goes next to its field on ``form`` (every one at once); a problem that
    belongs to no field of that form goes next to field ``on`` when given (the file input of an
    upload form), else becomes an error message, as does the whole refusal without a form.
    """
    problems = error.errors or {"": error.message}
    for field, message in problems.items():
        if form is not None and field in form.fields:
            form.add_error(field, message)
        elif form is not None and on is not None:
            form.add_error(on, message)
        else:
            messages.error(request, message)
