"""Treezor's signed certificates: upload, the certificate's page, downloads, revocation."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from certificates import crypto, selectors, services
from certificates.forms import (
    CertificateUploadForm,
    CompromiseForm,
    Pkcs12Form,
    RevocationConfirmedForm,
    RevokeForm,
)
from certificates.models import Certificate, Environment, Revocation
from certificates.permissions import Action, environments_for, require, user_can
from certificates.selectors.email_states import emails_about
from certificates.selectors.incident import incident_of
from certificates.selectors.keys import key_available, key_destroyable, key_holders
from certificates.services import Actor, ServiceError
from certificates.services.certificate_export import ExportPart
from certificates.services.certificates import ConfirmationNeeded
from certificates.services.keys import company_name, key_destroy
from certificates.services.outbox import KeyMaterialRefused
from certificates.services.revocations import (
    NOTE_REFUSED,
    AlreadyRequested,
    revocation_confirm,
    revocation_report_compromise,
    revocation_request,
)
from certificates.views import access, sudo
from certificates.views.requests import attachment, key_download, parse_submission_token

# Treezor's API hosts, for the "How to use" panel when an environment names none.
EXAMPLE_HOSTS = {
    "sandbox": "<your-company-name>.sandbox.treezor.co",
    "production": "<your-company-name>.api.treezor.com",
}


def certificate_for(request: HttpRequest, pk: int, action: Action = Action.VIEW) -> Certificate:
    """A certificate the user may see (404 otherwise), with its status annotations."""
    certificate = selectors.certificates_with_status().filter(pk=pk).first()
    if certificate is None or not user_can(
        request.user, Action.VIEW, certificate.signing_request.environment
    ):
        raise Http404("No such certificate.")
    require(request.user, action, certificate.signing_request.environment)
    return certificate


def _revocation(certificate: Certificate) -> Revocation | None:
    return Revocation.objects.filter(certificate=certificate).first()


@never_cache
# A pasted "certificate" may be a private key (refused, rule 6): never shown in an error report.
@sensitive_post_parameters("certificate_text")
def upload(request: HttpRequest) -> HttpResponse:
    """Upload Treezor's certificate; it is matched to its request by public key (rule 5)."""
    environments = list(environments_for(request.user, Action.REQUEST))
    if not environments:
        raise Http404("You may not upload certificates in any environment.")
    for_request = None
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    if request.GET.get("request", "").isdecimal():
        for_request = access.signing_request_for(
            request, int(request.GET["request"]), Action.REQUEST
        )
    initial = (
        {"environment": for_request.environment.slug, "purpose": for_request.purpose}
        if for_request is not None
        else {}
    )
    form = CertificateUploadForm(
        access.post_data(request),
        access.post_files(request),
        initial=initial,
        environments=environments,
    )
    if request.method == "POST" and form.is_valid():
        chosen = {e.slug: e for e in environments}
        try:
            result = services.certificate_upload(
                actor=Actor.from_request(request),
                data=form.cleaned_data["data"],
                environment=chosen.get(form.cleaned_data["environment"]),
                purpose=form.cleaned_data["purpose"] or None,
                replace=request.POST.get("replace") == "yes",
                trust_issuer=request.POST.get("trust_issuer") == "yes",
            )
        except ConfirmationNeeded as question:
            # Nothing is stored yet: the same certificate comes back with the answers. It is
            # not sensitive (rule 3), so it rides along in the page as PEM.
            return render(
                request,
                "certificates/certificate_upload_confirm.html",
                {
                    "questions": question.questions,
                    "pem": crypto.certificates_to_pem(
                        crypto.parse_certificates(form.cleaned_data["data"])
                    ).decode("ascii"),
                    "environment": form.cleaned_data["environment"],
                    "purpose": form.cleaned_data["purpose"],
                    "for_request": for_request,
                },
            )
        except ServiceError as error:
            access.show_refusal(request, error, form, on="certificate_file")
        else:
            certificate = result.certificate
            messages.success(
                request,
                f"Certificate #{certificate.pk} is now in service for "
                f"{certificate.environment.name} {certificate.get_purpose_display()} "
                f"(request #{certificate.signing_request_id})"
                + (f"; it replaces certificate #{result.replaced.pk}." if result.replaced else ".")
                + (
                    f" {certificate.environment.name}'s Treezor CA is now the issuer you trusted."
                    if result.trusted_issuer
                    else ""
                ),
            )
            return redirect("certificate_detail", pk=certificate.pk)
    return render(
        request,
        "certificates/certificate_upload.html",
        {"form": form, "for_request": for_request},
    )


@require_GET
# The PKCS#12 form carries a passphrase generated for this page load: never kept by a cache.
@never_cache
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    certificate = certificate_for(request, pk)
    signing_request = certificate.signing_request
    environment: Environment = signing_request.environment
    now = timezone.now()
    company = company_name()
    purpose = signing_request.purpose
    chain = (
        crypto.parse_certificates(certificate.chain_pem.encode("ascii"))
        if certificate.chain_pem.strip()
        else []
    )
    leaf = crypto.parse_certificates(certificate.pem.encode("ascii"))[0]
    revocation = _revocation(certificate)
    key = signing_request.key
    can_custody = user_can(request.user, Action.CUSTODY, environment)
    status = selectors.status_of(certificate, now=now)
    can_request = user_can(request.user, Action.REQUEST, environment)
    email_states = emails_about(certificate)
    # A missing reverse one-to-one raises RelatedObjectDoesNotExist, an AttributeError.
    replaced_by = getattr(certificate, "replaced_by", None)
    destroyable = key_destroyable(key)
    renew_url = reverse("wizard_start") + "?" + urlencode({"renews": certificate.pk})
    # Issue 16: after a compromise report, what was done and what is left, next action on top.
    incident = incident_of(
        certificate,
        revocation=revocation,
        emails=email_states,
        replaced_by=replaced_by,
        key_destroyable=destroyable,
        renew_url=renew_url,
        can_request=can_request,
        can_custody=can_custody,
    )
    return render(
        request,
        "certificates/certificate_detail.html",
        {
            "incident": incident,
            # "How to use" is no help for a key that must not be used any more.
            "show_how_to_use": incident is None
            and status
            not in (
                selectors.CertificateStatus.REVOKED,
                selectors.CertificateStatus.REVOCATION_REQUESTED,
            ),
            "certificate": certificate,
            "signing_request": signing_request,
            "environment": environment,
            "status": status,
            "may_renew": selectors.may_renew(certificate, status),
            "days_left": selectors.days_left(certificate.not_after, now),
            "replaced_by": replaced_by,
            "openssl_dates": crypto.openssl_dates(leaf),
            "fingerprint": crypto.format_fingerprint(certificate.fingerprint),
            "chain": [crypto.describe_name(c.subject) for c in chain],
            "renewals": certificate.renewals.select_related("environment").order_by("-created_at"),
            "revocation": revocation,
            "can_request": can_request,
            "can_custody": can_custody,
            "key_available": key_available(key),
            # Who to ask for the key, for a member who may not take it.
            "key_holders": None if can_custody else key_holders(environment),
            "key_destroyable": destroyable,
            "cert_filename": crypto.treezor_filename(company, "cert", purpose),
            "chain_filename": crypto.treezor_filename(company, "chain", purpose),
            "key_filename": crypto.treezor_filename(company, "privatekey", purpose),
            "api_host": environment.api_host or EXAMPLE_HOSTS.get(environment.slug, "<api-host>"),
            "pkcs12_form": Pkcs12Form(),
            "confirm_form": RevocationConfirmedForm(initial={"confirmed_on": timezone.localdate()}),
            "renew_url": renew_url,
            "timeline": selectors.certificate_timeline(certificate),
            "email_states": email_states,
        },
    )


def _certificate_download(request: HttpRequest, pk: int, part: ExportPart) -> HttpResponse:
    certificate = certificate_for(request, pk)
    (file,) = services.certificate_export(
        actor=Actor.from_request(request), certificate=certificate, part=part
    )
    return attachment(file.content, file.filename, file.content_type)


@require_GET
def download_pem(request: HttpRequest, pk: int) -> HttpResponse:
    """The certificate alone, recorded as certificate.exported (as on the command line)."""
    return _certificate_download(request, pk, "certificate")


@require_GET
def download_chain(request: HttpRequest, pk: int) -> HttpResponse:
    """The certificate followed by its chain, as servers and curl expect a full chain."""
    return _certificate_download(request, pk, "full_chain")


@require_POST
@never_cache
@sensitive_post_parameters("passphrase")
def download_key(request: HttpRequest, pk: int) -> HttpResponse:
    """The key as PKCS#1 PEM or a PKCS#12 bundle: custodians, fresh password, recorded."""
    certificate = certificate_for(request, pk, Action.CUSTODY)
    return key_download(
        request,
        certificate.signing_request,
        back_to=reverse("certificate_detail", args=[pk]),
        certificate=certificate,
    )


def _forget_note(form: CompromiseForm | RevokeForm, refused: bool) -> None:
    """Rule 6: a note the outgoing guard refused is never sent back into the form (it would sit
    in the page, the browser's history and caches): the field comes back empty, with why."""
    name = form.add_prefix("note")
    if not refused and not crypto.contains_private_key_material(
        str(form.data.get(name) or "").encode("utf-8", "replace")
    ):
        return
    data = form.data.copy() if isinstance(form.data, QueryDict) else {**form.data}
    data[name] = ""
    form.data = data
    if not refused:
        form.add_error("note", NOTE_REFUSED)


@never_cache
@sensitive_post_parameters("note")
def report_compromise(request: HttpRequest, pk: int) -> HttpResponse:
    certificate = certificate_for(request, pk, Action.CUSTODY)
    form = CompromiseForm(
        access.post_data(request), initial={"suspected_since": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            revocation_report_compromise(
                actor=Actor.from_request(request),
                certificate=certificate,
                suspected_since=form.cleaned_data["suspected_since"],
                note=form.cleaned_data["note"],
                # The form's one-time token (issue 13): a second submission of this form
                # returns the first report; none (an old page) still reports once only.
                submission_token=parse_submission_token(request.POST.get("token")),
            )
        except KeyMaterialRefused as refused:
            _forget_note(form, refused=True)
            form.add_error("note", refused.message)
        except AlreadyRequested as already:
            # Someone (or another tab) reported it first: nothing more was sent.
            messages.warning(request, already.message)
            return redirect("certificate_detail", pk=certificate.pk)
        except ServiceError as error:
            access.show_refusal(request, error, form)
        else:
            environment = certificate.signing_request.environment
            if environment.tam_emails:
                messages.warning(
                    request,
                    "The key is marked compromised and an urgent revocation request to the TAM ("
                    + ", ".join(environment.tam_emails)
                    + ") is queued to leave now; this page shows when it has left. "
                    "Start a replacement.",
                )
            else:
                messages.error(
                    request,
                    f"The key is marked compromised, but {environment.name} has no TAM address: "
                    "contact Treezor yourself now to revoke the certificate.",
                )
            return redirect("certificate_detail", pk=certificate.pk)
    _forget_note(form, refused=False)
    return render(
        request,
        "certificates/certificate_compromise.html",
        {"certificate": certificate, "form": form, "token": uuid.uuid4()},
    )


@never_cache
@sensitive_post_parameters("note")
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    certificate = certificate_for(request, pk, Action.CUSTODY)
    form = RevokeForm(access.post_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            revocation_request(
                actor=Actor.from_request(request),
                certificate=certificate,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except KeyMaterialRefused as refused:
            _forget_note(form, refused=True)
            form.add_error("note", refused.message)
        except ServiceError as error:
            access.show_refusal(request, error, form)
        else:
            messages.success(request, "The revocation request is on its way to the TAM.")
            return redirect("certificate_detail", pk=certificate.pk)
    _forget_note(form, refused=False)
    return render(
        request, "certificates/certificate_revoke.html", {"certificate": certificate, "form": form}
    )


@require_POST
def revocation_confirmed(request: HttpRequest, pk: int) -> HttpResponse:
    certificate = certificate_for(request, pk, Action.CUSTODY)
    revocation = _revocation(certificate)
    if revocation is None:
        messages.error(request, "No revocation was requested for this certificate.")
        return redirect("certificate_detail", pk=pk)
    form = RevocationConfirmedForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the date Treezor confirmed, as YYYY-MM-DD.")
        return redirect("certificate_detail", pk=pk)
    try:
        revocation_confirm(
            actor=Actor.from_request(request),
            revocation=revocation,
            confirmed_on=form.cleaned_data["confirmed_on"],
        )
    except ServiceError as error:
        access.show_refusal(request, error)
    else:
        messages.success(request, "Recorded: Treezor revoked the certificate.")
    return redirect("certificate_detail", pk=pk)


@never_cache
def destroy_key(request: HttpRequest, pk: int) -> HttpResponse:
    """Erase a compromised or revoked key's private half, after one explicit confirmation."""
    certificate = certificate_for(request, pk, Action.CUSTODY)
    if request.method == "POST":
        detour = sudo.gate(
            request, back_to=reverse("certificate_destroy_key", args=[pk]), what="destroy a key"
        )
        if detour is not None:
            return detour
        if request.POST.get("confirm") != "destroy":
            messages.error(request, "Tick the box to confirm the destruction.")
        else:
            try:
                key_destroy(actor=Actor.from_request(request), key=certificate.signing_request.key)
            except ServiceError as error:
                access.show_refusal(request, error)
            else:
                messages.success(request, "The private key material is destroyed.")
                return redirect("certificate_detail", pk=pk)
    return render(
        request, "certificates/certificate_destroy_key.html", {"certificate": certificate}
    )
