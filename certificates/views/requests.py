"""A signing request's page, its downloads, and sending CSRs to the TAM."""

from __future__ import annotations

import io
import zipfile

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from certificates import crypto, selectors, services
from certificates.forms import MarkSentForm, Pkcs12Form
from certificates.models import Environment, Purpose, SigningRequest
from certificates.permissions import Action, user_can
from certificates.services import Actor, ServiceError
from certificates.services.keys import KeyFormat, company_name
from certificates.services.tam import SENDABLE, tam_email_compose
from certificates.views import access


def attachment(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def ready_csrs(environment: Environment) -> list[SigningRequest]:
    """The newest open CSR of each purpose the environment needs, when all of them exist:
    "the files to send to Treezor"; empty while one is missing."""
    needed = [Purpose.MTLS, *([Purpose.SIGNATURE] if environment.signature_required else [])]
    latest: dict[str, SigningRequest] = {}
    for signing_request in SigningRequest.objects.filter(
        environment=environment, status__in=SENDABLE
    ).order_by("-created_at", "-pk"):
        latest.setdefault(signing_request.purpose, signing_request)
    if any(purpose not in latest for purpose in needed):
        return []
    return [latest[purpose] for purpose in needed]


@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    signing_request = access.signing_request_for(request, pk)
    environment = signing_request.environment
    company = company_name()
    can_request = user_can(request.user, Action.REQUEST, environment)
    bundle = ready_csrs(environment)
    return render(
        request,
        "certificates/request_detail.html",
        {
            "signing_request": signing_request,
            "environment": environment,
            "subject": selectors.subject_of(signing_request),
            "fingerprint": crypto.format_fingerprint(signing_request.key.fingerprint),
            "csr_filename": crypto.treezor_filename(company, "csr", signing_request.purpose),
            "key_filename": crypto.treezor_filename(company, "privatekey", signing_request.purpose),
            "can_request": can_request,
            "can_take_key": user_can(request.user, Action.CUSTODY, environment)
            and signing_request.key.has_private_key
            and signing_request.key.compromised_at is None,
            "archive_ready": signing_request in bundle,
            "mark_sent_form": MarkSentForm(initial={"sent_on": timezone.localdate()}),
            "certificates": signing_request.certificates.order_by("-not_after"),
        },
    )


@require_GET
def download_csr(request: HttpRequest, pk: int) -> HttpResponse:
    signing_request = access.signing_request_for(request, pk)
    filename = crypto.treezor_filename(company_name(), "csr", signing_request.purpose)
    return attachment(signing_request.csr_pem.encode("ascii"), filename, "application/pkcs10")


@sensitive_variables("export", "passphrase")
def key_download(
    request: HttpRequest, signing_request: SigningRequest, *, back_to: str
) -> HttpResponse:
    """The one way a private key leaves through the web (rule 3): custodians only (checked by
    the caller and again by the service), after a password typed in the last five minutes, as
    PKCS#1 PEM or a PKCS#12 bundle, never cached, and recorded by the service."""
    if not access.authenticated_recently(request):
        return access.reauthenticate(request, back_to=back_to)
    key_format: KeyFormat = "pkcs12" if request.POST.get("format") == "pkcs12" else "pem"
    passphrase = None
    if key_format == "pkcs12":
        form = Pkcs12Form(request.POST)
        if not form.is_valid():
            messages.error(request, "Type a passphrase for the PKCS#12 bundle.")
            return redirect(back_to)
        passphrase = form.cleaned_data["passphrase"]
    try:
        export = services.key_export(
            actor=Actor.from_request(request),
            signing_request=signing_request,
            key_format=key_format,
            passphrase=passphrase,
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(back_to)
    response = attachment(export.content, export.filename, export.content_type)
    response["Cache-Control"] = "no-store, private"
    return response


@require_POST
@never_cache
@sensitive_post_parameters("passphrase")
def download_key(request: HttpRequest, pk: int) -> HttpResponse:
    signing_request = access.signing_request_for(request, pk, Action.CUSTODY)
    return key_download(request, signing_request, back_to=signing_request.get_absolute_url())


@require_POST
def mark_sent(request: HttpRequest, pk: int) -> HttpResponse:
    signing_request = access.signing_request_for(request, pk, Action.REQUEST)
    form = MarkSentForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(signing_request.get_absolute_url())
    try:
        services.request_mark_sent(
            actor=Actor.from_request(request),
            signing_request=signing_request,
            sent_on=form.cleaned_data["sent_on"],
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Marked as sent to the TAM.")
    return redirect(signing_request.get_absolute_url())


def send_to_tam(request: HttpRequest, slug: str) -> HttpResponse:
    """Preview the email to the TAM with the chosen CSRs attached, then send it."""
    environment = access.environment_for(request, slug, Action.REQUEST)
    sendable = list(
        SigningRequest.objects.select_related("key", "renews")
        .filter(environment=environment, status__in=SENDABLE)
        .order_by("purpose", "-created_at")
    )
    if request.method == "POST":
        wanted = set(request.POST.getlist("requests"))
    else:
        preselected = request.GET.get("request")
        wanted = (
            {preselected}
            if preselected
            else {str(r.pk) for r in sendable if r.status == SigningRequest.Status.READY}
        )
    chosen = [r for r in sendable if str(r.pk) in wanted]
    if request.method == "POST" and "send" in request.POST:
        try:
            services.tam_send(
                actor=Actor.from_request(request), environment=environment, signing_requests=chosen
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                f"Sent to {', '.join(environment.tam_emails)}; the CSRs are marked as sent.",
            )
            return redirect("dashboard")
    preview = (
        tam_email_compose(environment=environment, signing_requests=chosen)
        if chosen and environment.tam_emails
        else None
    )
    return render(
        request,
        "certificates/send_to_tam.html",
        {
            "environment": environment,
            "sendable": sendable,
            "chosen": {r.pk for r in chosen},
            "preview": preview,
        },
    )


@require_GET
def csr_archive(request: HttpRequest, slug: str) -> HttpResponse:
    """One zip of the environment's CSRs, once every one it needs is ready: never a key."""
    environment = access.environment_for(request, slug)
    bundle = ready_csrs(environment)
    if not bundle:
        messages.error(
            request,
            f"{environment.name} does not have all its CSRs yet; make the missing ones first.",
        )
        return redirect("dashboard")
    company = company_name()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for signing_request in bundle:
            archive.writestr(
                crypto.treezor_filename(company, "csr", signing_request.purpose),
                signing_request.csr_pem,
            )
    # acme.sas_csrs_sandbox.zip, beside Treezor's acme.sas_csr_mtls.pem
    filename = (
        crypto.treezor_filename(company, "csr", environment.slug)
        .replace("_csr_", "_csrs_")
        .removesuffix(".pem")
        + ".zip"
    )
    return attachment(buffer.getvalue(), filename, "application/zip")
