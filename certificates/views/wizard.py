"""The request wizard: environment and purpose, key source, subject, review, then the result.

Server-rendered forms, one URL per step, the state in the session: it works without JavaScript,
with the keyboard only, and with a screen reader. The review step carries a one-time token, so a
form submitted twice creates one request, never two keys.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from certificates import crypto, selectors, services
from certificates.forms import (
    EnvironmentPurposeForm,
    KeySourceForm,
    SubjectForm,
)
from certificates.models import Certificate, Environment, Purpose, SigningRequest
from certificates.permissions import Action, environments_for, user_can
from certificates.services import Actor, ServiceError
from certificates.services.keys import company_name
from certificates.views import access

SESSION_KEY = "certdesk_wizard"
STEPS = ["Environment and purpose", "Key source", "Subject", "Review"]


def _state(request: HttpRequest) -> dict[str, Any]:
    state: dict[str, Any] = request.session.get(SESSION_KEY) or {}
    return state


def _save(request: HttpRequest, state: dict[str, Any]) -> None:
    request.session[SESSION_KEY] = state


def _render(request: HttpRequest, template: str, step: int, **context: Any) -> HttpResponse:
    return render(
        request,
        f"certificates/wizard/{template}.html",
        {"steps": STEPS, "step": step, "state": _state(request), **context},
    )


def _renewed(request: HttpRequest, pk: str | int | None) -> Certificate | None:
    """The certificate a renewal replaces, if the user may renew it (``?renews=abc``: none)."""
    if not pk or not str(pk).isdecimal():
        return None
    certificate = (
        Certificate.objects.select_related("signing_request__environment").filter(pk=pk).first()
    )
    if certificate is None or not user_can(
        request.user, Action.REQUEST, certificate.signing_request.environment
    ):
        return None
    return certificate


def _environment(request: HttpRequest, state: dict[str, Any]) -> Environment | None:
    slug = state.get("environment")
    return environments_for(request.user, Action.REQUEST).filter(slug=slug).first()


def _waiting(
    request: HttpRequest, slug: str, purpose: str, renews: Certificate | None
) -> SigningRequest | None:
    """A request of this (environment, purpose) still waiting for its certificate, which the
    user may continue instead of making a second one (for a renewal, its open renewal first)."""
    environment = environments_for(request.user, Action.REQUEST).filter(slug=slug).first()
    if environment is None or purpose not in Purpose.values:
        return None
    return selectors.open_requests(environment=environment, purpose=purpose, renews=renews).first()


def _pair_key(slug: str, purpose: str) -> str:
    """What "start another anyway" acknowledges: one (environment, purpose), not any other."""
    return f"{slug}/{purpose}"


@never_cache
def start(request: HttpRequest) -> HttpResponse:
    environments = list(environments_for(request.user, Action.REQUEST))
    if not environments:
        messages.error(
            request,
            "You are not a requester in any environment. Ask an administrator for the role.",
        )
        return redirect("dashboard")
    renews = _renewed(request, request.GET.get("renews"))
    waiting: SigningRequest | None = None
    if request.method == "GET":
        initial = {
            "environment": request.GET.get("environment") or environments[0].slug,
            "purpose": request.GET.get("purpose") or Purpose.MTLS,
        }
        if renews is not None:
            initial = {
                "environment": renews.signing_request.environment.slug,
                "purpose": renews.signing_request.purpose,
            }
        # A fresh start: a new token for this request-to-be.
        _save(
            request,
            {"token": str(uuid.uuid4()), "renews": renews.pk if renews is not None else None},
        )
        form = EnvironmentPurposeForm(initial=initial, environments=environments)
        if renews is not None:
            waiting = _waiting(request, initial["environment"], initial["purpose"], renews)
    else:
        form = EnvironmentPurposeForm(request.POST, environments=environments)
        state = _state(request)
        if "token" not in state:
            state = {"token": str(uuid.uuid4()), "renews": None}
        if form.is_valid():
            renews = _renewed(request, state.get("renews"))
            if renews is not None and (
                renews.signing_request.environment.slug != form.cleaned_data["environment"]
                or renews.signing_request.purpose != form.cleaned_data["purpose"]
            ):
                form.add_error(
                    None,
                    f"This is the renewal of a {renews.signing_request.environment.name} "
                    f"{renews.signing_request.get_purpose_display()} certificate: keep that "
                    "environment and purpose, or start a new request from the dashboard.",
                )
            else:
                slug, purpose = form.cleaned_data["environment"], form.cleaned_data["purpose"]
                if request.POST.get("another") != _pair_key(slug, purpose):
                    waiting = _waiting(request, slug, purpose, renews)
                if waiting is None:
                    state.update(environment=slug, purpose=purpose)
                    _save(request, state)
                    return redirect("wizard_key_source")
    return _render(
        request,
        "start",
        1,
        form=form,
        environments=environments,
        renews=_renewed(request, _state(request).get("renews")),
        waiting=waiting,
        another=_pair_key(waiting.environment.slug, waiting.purpose) if waiting else "",
    )


@never_cache
# A pasted "CSR" may be a private key (refused, rule 6): never shown in an error report.
@sensitive_post_parameters("csr_text")
def key_source(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    environment = _environment(request, state)
    if environment is None or "purpose" not in state:
        return redirect("wizard_start")
    form = KeySourceForm(
        access.post_data(request),
        access.post_files(request),
        initial={"key_source": state.get("key_source", KeySourceForm.GENERATE)},
    )
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["key_source"] == KeySourceForm.GENERATE:
            state.update(key_source=KeySourceForm.GENERATE, csr_pem=None)
            _save(request, state)
            return redirect("wizard_subject")
        try:
            csr, subject = services.request_import_check(csr_data=form.cleaned_data["csr_data"])
        except ServiceError as error:
            access.show_refusal(request, error, form, on="csr_file")
        else:
            state.update(
                key_source=KeySourceForm.UPLOAD,
                csr_pem=crypto.csr_to_pem(csr).decode("ascii"),
                subject=subject.as_dict(),
            )
            _save(request, state)
            return redirect("wizard_review")
    company = company_name()
    purpose = state["purpose"]
    return _render(
        request,
        "key_source",
        2,
        form=form,
        environment=environment,
        purpose_label=Purpose(purpose).label,
        key_file=crypto.treezor_filename(company, "privatekey", purpose),
        csr_file=crypto.treezor_filename(company, "csr", purpose),
    )


@never_cache
def subject(request: HttpRequest) -> HttpResponse:
    state = _state(request)
    environment = _environment(request, state)
    if environment is None or state.get("key_source") != KeySourceForm.GENERATE:
        return redirect("wizard_start")
    data = request.POST.copy() if request.method == "POST" else None
    if data is not None and data.get("use_common_name"):
        # The one-click fix for a Common Name typed as a URL.
        data["common_name"] = str(data["use_common_name"])
    initial = state.get("subject") or selectors.subject_prefill(
        environment, state["purpose"], _renewed(request, state.get("renews"))
    )
    form = SubjectForm(data, initial=initial)
    if data is not None and form.is_valid():
        state["subject"] = form.subject.as_dict()
        _save(request, state)
        return redirect("wizard_review")
    return _render(
        request,
        "subject",
        3,
        form=form,
        environment=environment,
        purpose_label=Purpose(state["purpose"]).label,
    )


@never_cache
def review(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        token = _parse_token(request.POST.get("token"))
        done = SigningRequest.objects.filter(creation_token=token).first() if token else None
        if done is not None:
            # The second click of a double submission: show the request the first one made.
            return redirect("request_detail", pk=access.signing_request_for(request, done.pk).pk)
    state = _state(request)
    environment = _environment(request, state)
    if environment is None or not state.get("subject"):
        return redirect("wizard_start")
    subject_ = crypto.Subject(**state["subject"])
    renews = _renewed(request, state.get("renews"))
    if request.method == "POST":
        if _parse_token(request.POST.get("token")) != _parse_token(state.get("token")):
            messages.error(request, "This form was replaced by a newer one; check and confirm.")
            return redirect("wizard_review")
        try:
            created = _create(request, state, environment, subject_, renews)
        except ServiceError as error:
            access.show_refusal(request, error)
        else:
            request.session.pop(SESSION_KEY, None)
            messages.success(
                request,
                "The key and CSR are ready."
                if state["key_source"] == KeySourceForm.GENERATE
                else "Your CSR is ready; certdesk keeps its public key only.",
            )
            return redirect("request_detail", pk=created.pk)
    return _render(
        request,
        "review",
        4,
        environment=environment,
        purpose_label=Purpose(state["purpose"]).label,
        subject=subject_,
        renews=renews,
        generate=state["key_source"] == KeySourceForm.GENERATE,
    )


def _create(
    request: HttpRequest,
    state: dict[str, Any],
    environment: Environment,
    subject_: crypto.Subject,
    renews: Certificate | None,
) -> SigningRequest:
    token = _parse_token(state.get("token"))
    actor = Actor.from_request(request)
    if state["key_source"] == KeySourceForm.GENERATE:
        return services.request_create(
            actor=actor,
            environment=environment,
            purpose=state["purpose"],
            subject=subject_,
            renews=renews,
            creation_token=token,
        )
    return services.request_import(
        actor=actor,
        environment=environment,
        purpose=state["purpose"],
        csr_data=state["csr_pem"].encode("ascii"),
        renews=renews,
        creation_token=token,
    )


def _parse_token(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
