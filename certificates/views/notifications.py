"""Settings → an environment → Notifications (issue 18): the chat rooms and webhooks that hear
about the environment beside email.

Administrators only (``superuser_required``: 403 for everyone else). The list page adds a
channel; a webhook's signing secret is shown once, in the answer to that form (never cached,
never stored in clear, never put in the session). Each channel can be changed, deactivated
(channels are never deleted: their past notifications stay on /outbox/), reactivated, and sent
a test message. Every change is the service's, audited.

Routed in ``certificates/urls.py``, under ``/settings/environments/<slug>/notifications/``.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from certificates.forms.notifications import ChannelAddForm, ChannelEditForm
from certificates.models import Environment, NotificationChannel
from certificates.selectors.notifications import channel_rows, masked_address
from certificates.services.audit import Actor
from certificates.services.errors import ServiceError
from certificates.services.notifications import (
    notification_channel_create,
    notification_channel_deactivate,
    notification_channel_reactivate,
    notification_channel_test,
    notification_channel_update,
)
from certificates.views import access
from certificates.views.access import superuser_required


def _channel(slug: str, pk: int) -> tuple[Environment, NotificationChannel]:
    environment = get_object_or_404(Environment, slug=slug)
    channel = get_object_or_404(NotificationChannel, pk=pk, environment=environment)
    channel.environment = environment
    return environment, channel


@sensitive_post_parameters("url")
@superuser_required
@never_cache
def channels(request: HttpRequest, slug: str) -> HttpResponse:
    """The environment's channels, and the form that adds one."""
    environment = get_object_or_404(Environment, slug=slug)
    form = ChannelAddForm(access.post_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            created = notification_channel_create(
                actor=Actor.from_request(request),
                environment=environment,
                kind=form.cleaned_data["kind"],
                name=form.cleaned_data["name"],
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
            )
        except ServiceError as error:
            access.show_refusal(request, error, form)
        else:
            if created.secret:
                return render(
                    request,
                    "certificates/settings/notifications_created.html",
                    {
                        "environment": environment,
                        "channel": created.channel,
                        "address": masked_address(created.channel),
                        "secret": created.secret,
                    },
                )
            messages.success(
                request,
                f"Channel “{created.channel.name}” added to {environment.name}. Send it a test "
                "message to check it works.",
            )
            return redirect("settings_notifications", slug=environment.slug)
    return render(
        request,
        "certificates/settings/notifications.html",
        {"environment": environment, "rows": channel_rows(environment), "form": form},
    )


@sensitive_post_parameters("url")
@superuser_required
def channel_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Rename a channel, choose its events, replace its address."""
    environment, channel = _channel(slug, pk)
    form = ChannelEditForm(
        access.post_data(request), initial={"name": channel.name, "events": list(channel.events)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            notification_channel_update(
                actor=Actor.from_request(request),
                channel=channel,
                name=form.cleaned_data["name"],
                events=form.cleaned_data["events"],
                url=form.cleaned_data["url"],
            )
        except ServiceError as error:
            access.show_refusal(request, error, form)
        else:
            messages.success(request, f"Channel “{channel.name}” saved.")
            return redirect("settings_notifications", slug=environment.slug)
    return render(
        request,
        "certificates/settings/notifications_edit.html",
        {
            "environment": environment,
            "channel": channel,
            "address": masked_address(channel),
            "form": form,
        },
    )


@superuser_required
@require_POST
def channel_deactivate(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    environment, channel = _channel(slug, pk)
    try:
        dropped = notification_channel_deactivate(
            actor=Actor.from_request(request), channel=channel
        )
    except ServiceError as error:
        access.show_refusal(request, error)
    else:
        unsent = f" {dropped} unsent notification(s) dropped." if dropped else ""
        messages.success(
            request,
            f"Channel “{channel.name}” deactivated: it hears of nothing more.{unsent} Its past "
            "notifications stay on the outbox page.",
        )
    return redirect("settings_notifications", slug=environment.slug)


@superuser_required
@require_POST
def channel_reactivate(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    environment, channel = _channel(slug, pk)
    try:
        notification_channel_reactivate(actor=Actor.from_request(request), channel=channel)
    except ServiceError as error:
        access.show_refusal(request, error)
    else:
        messages.success(request, f"Channel “{channel.name}” is active again.")
    return redirect("settings_notifications", slug=environment.slug)


@superuser_required
@require_POST
def channel_test(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    environment, channel = _channel(slug, pk)
    try:
        notification_channel_test(actor=Actor.from_request(request), channel=channel)
    except ServiceError as error:
        access.show_refusal(request, error)
    else:
        messages.success(
            request,
            f"Test message to “{channel.name}” queued: it leaves within seconds. This page and "
            "the outbox show whether it arrived.",
        )
    return redirect("settings_notifications", slug=environment.slug)
