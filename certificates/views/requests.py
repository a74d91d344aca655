"""A signing request's page, its downloads, and sending CSRs to the TAM."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from certificates import crypto, selectors, services
from certificates.forms import CancelRequestForm, MarkSentForm, Pkcs12Form, forget_pasted_key
from certificates.forms.requests import TamMessageForm
from certificates.models import Certificate, OutboundEmail, SigningRequest
from certificates.permissions import Action, user_can
from certificates.selectors.email_states import emails_about, latest_tam_emails
from certificates.services import Actor, ServiceError
from certificates.services.keys import KeyFormat, company_name
from certificates.services.outbox import outbound_emails_waiting_for_broker
from certificates.services.requests import CANCEL_REASON_MAX_LENGTH
from certificates.services.tam import cancelled_message, tam_email_compose
from certificates.views import access, sudo


def attachment(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    signing_request = access.signing_request_for(request, pk)
    environment = signing_request.environment
    company = company_name()
    can_request = user_can(request.user, Action.REQUEST, environment)
    bundle = selectors.csr_bundle(environment)
    return render(
        request,
        "certificates/request_detail.html",
        {
            "signing_request": signing_request,
            "environment": environment,
            "subject": selectors.stored_subject(signing_request),
            "fingerprint": crypto.format_fingerprint(signing_request.key.fingerprint),
            "csr_filename": crypto.treezor_filename(company, "csr", signing_request.purpose),
            "key_filename": crypto.treezor_filename(company, "privatekey", signing_request.purpose),
            "can_request": can_request,
            "can_take_key": user_can(request.user, Action.CUSTODY, environment)
            and signing_request.key.has_private_key
            and signing_request.key.compromised_at is None,
            "archive_ready": signing_request in bundle,
            "can_cancel": can_request and _cancel_refusal(signing_request) is None,
            "mark_sent_form": MarkSentForm(initial={"sent_on": timezone.localdate()}),
            "certificates": signing_request.certificates.order_by("-not_after"),
            "timeline": selectors.request_timeline(signing_request),
            "email_states": emails_about(signing_request),
            "tam_email": latest_tam_emails([signing_request]).get(signing_request.pk),
        },
    )


@require_GET
def download_csr(request: HttpRequest, pk: int) -> HttpResponse:
    signing_request = access.signing_request_for(request, pk)
    filename = crypto.treezor_filename(company_name(), "csr", signing_request.purpose)
    return attachment(signing_request.csr_pem.encode("ascii"), filename, "application/pkcs10")


@sensitive_variables("export", "passphrase", "typed", "form")
def key_download(
    request: HttpRequest,
    signing_request: SigningRequest,
    *,
    back_to: str,
    certificate: Certificate | None = None,
) -> HttpResponse:
    """The one way a private key leaves through the web (rule 3): custodians only (checked by
    the caller and again by the service), after a password typed in the last five minutes, as
    PKCS#1 PEM or a PKCS#12 bundle, never cached, and recorded by the service."""
    if (detour := sudo.gate(request, back_to=back_to, what="download a private key")) is not None:
        return detour
    key_format: KeyFormat = "pkcs12" if request.POST.get("format") == "pkcs12" else "pem"
    passphrase = None
    if key_format == "pkcs12":
        try:
            typed = sudo.posted(request, "passphrase")
        except ServiceError as error:
            access.show_refusal(request, error)
            return sudo.finish(request, redirect(back_to))
        form = Pkcs12Form({"passphrase": typed or ""})
        if not form.is_valid():
            messages.error(request, "Type a passphrase for the PKCS#12 bundle.")
            return sudo.finish(request, redirect(back_to))
        passphrase = form.cleaned_data["passphrase"]
    try:
        export = services.key_export(
            actor=Actor.from_request(request),
            signing_request=signing_request,
            key_format=key_format,
            passphrase=passphrase,
            certificate=certificate,
        )
    except ServiceError as error:
        access.show_refusal(request, error)
        return sudo.finish(request, redirect(back_to))
    response = attachment(export.content, export.filename, export.content_type)
    response["Cache-Control"] = "no-store, private"
    return sudo.finish(request, response)


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
        access.show_refusal(request, error)
    else:
        messages.success(request, "Marked as sent to the TAM.")
    return redirect(signing_request.get_absolute_url())


def _cancel_refusal(signing_request: SigningRequest) -> str | None:
    try:
        services.request_cancel_check(signing_request=signing_request)
    except ServiceError as error:
        return error.message
    return None


@never_cache
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw a request that has no certificate: a confirmation page with a reason (GET),
    then the service (POST). What it means is said before: the key is destroyed, the CSR can
    no longer be sent, and a CSR Treezor has already must be ignored by the TAM."""
    signing_request = access.signing_request_for(request, pk, Action.REQUEST)
    form = CancelRequestForm(access.post_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.request_cancel(
                actor=Actor.from_request(request),
                signing_request=signing_request,
                reason=form.cleaned_data["reason"],
            )
        except ServiceError as error:
            access.show_refusal(request, error, form)
            if "reason" not in error.errors:
                return redirect(signing_request.get_absolute_url())
        else:
            messages.success(request, f"Request #{signing_request.pk} is cancelled.")
            return redirect(signing_request.get_absolute_url())
    elif request.method == "GET" and (refusal := _cancel_refusal(signing_request)):
        messages.error(request, refusal)
        return redirect(signing_request.get_absolute_url())
    return render(
        request,
        "certificates/request_cancel.html",
        {
            "signing_request": signing_request,
            "environment": signing_request.environment,
            "form": form,
            "reason_max_length": CANCEL_REASON_MAX_LENGTH,
        },
    )


def parse_submission_token(value: object) -> uuid.UUID | None:
    """A send form's one-time token (a UUID rendered in the page), or None when absent or bad."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


STALE_FORM = "This form is out of date (it has no one-time token); check it and send again."


def queued_message(request: HttpRequest, email: OutboundEmail, what: str) -> None:
    """Say what really happened to an email just stored: handed to the task queue, or kept
    waiting because the queue could not take it (it leaves by itself when the queue is back:
    sending again would email twice)."""
    to = ", ".join(email.to)
    if outbound_emails_waiting_for_broker([email.pk]):
        messages.warning(
            request,
            f"{what} The email to {to} is stored, but the task queue cannot be reached right "
            "now: it leaves by itself as soon as the queue is back. Do not send it again.",
        )
        return
    messages.success(
        request,
        f"{what} Queued for {to}; the dashboard and the request's page show when it has left.",
    )


def send_to_tam(request: HttpRequest, slug: str) -> HttpResponse:
    """Preview the email to the TAM with the chosen CSRs attached, then send it.

    By default every ready CSR is ticked, the newest only of a purpose (selectors.tam_send_plan);
    ``?request=N`` ticks that one in place of the default of its purpose. A CSR already sent is
    listed, not tickable: resending is its own page (``request_resend``). The form carries a
    one-time token: a second submission of it (double click, retry) returns the first one's
    email and sends nothing (issue 13).
    """
    environment = access.environment_for(request, slug, Action.REQUEST)
    plan = selectors.tam_send_plan(environment)
    ready, already_sent = plan.ready, plan.already_sent
    # The form's requests as posted: a sent one stays in the list so that a repeated
    # submission finds its first email, and any other is refused by the service by name.
    by_id = {str(r.pk): r for r in plan.sendable}
    if request.method == "POST":
        chosen = [r for pk, r in by_id.items() if pk in set(request.POST.getlist("requests"))]
    else:
        wanted = by_id.get(request.GET.get("request") or "")
        if wanted is not None and wanted.status == SigningRequest.Status.SENT:
            return redirect("request_resend", pk=wanted.pk)
        chosen = plan.ticked(wanted)
    conflict = selectors.same_purpose_conflict(chosen)
    # The optional "Message to your TAM": checked on every submission (preview or send), so a
    # refusal shows next to the field and the preview shows the message as it will be sent.
    message_form = TamMessageForm(access.post_data(request))
    message_ok = request.method == "POST" and message_form.is_valid()
    if request.method == "POST" and "send" in request.POST:
        token = parse_submission_token(request.POST.get("token"))
        if token is None:
            messages.error(request, STALE_FORM)
        elif not message_ok:
            messages.error(request, "Nothing was sent: correct the message to your TAM first.")
        else:
            try:
                email = services.tam_send(
                    actor=Actor.from_request(request),
                    environment=environment,
                    signing_requests=chosen,
                    submission_token=token,
                    message=message_form.cleaned_data["message"],
                )
            except ServiceError as error:
                _show_message_refusal(request, error, message_form)
            else:
                queued_message(request, email, "The CSRs are marked as sent.")
                return redirect("dashboard")
    elif request.method == "POST" and conflict is not None:
        messages.error(request, selectors.same_purpose_message(*conflict))
    chosen = [r for r in chosen if r.status == SigningRequest.Status.READY]
    preview = (
        tam_email_compose(
            environment=environment,
            signing_requests=chosen,
            sender=_person(request),
            message=message_form.cleaned_data["message"] if message_ok else "",
        )
        if chosen and environment.tam_emails and conflict is None
        else None
    )
    return render(
        request,
        "certificates/send_to_tam.html",
        {
            "environment": environment,
            "sendable": ready,
            "already_sent": [
                (r, states.get(r.pk))
                for states in [latest_tam_emails(already_sent)]
                for r in already_sent
            ],
            "shadowed": {r.pk for r in plan.shadowed},
            "chosen": {r.pk for r in chosen},
            "missing": [
                m.message(environment)
                for m in selectors.missing_sets(environment, chosen, plan.sendable)
            ]
            if chosen
            else [],
            "preview": preview,
            "message_form": message_form,
            # A fresh one-time token per page: the send button's submissions share it.
            "token": uuid.uuid4(),
        },
    )


def _person(request: HttpRequest) -> User | None:
    """The signed-in person who signs the email (their name, phone, address)."""
    user = request.user
    return user if isinstance(user, User) else None


def _show_message_refusal(
    request: HttpRequest, error: ServiceError, message_form: TamMessageForm
) -> None:
    """The service's refusal; one about the message goes next to it, which never shows
    private-key material back."""
    access.show_refusal(request, error, message_form)
    if "message" in error.errors:
        forget_pasted_key(message_form, "message")


@never_cache
def resend(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a CSR the TAM already has again, on purpose: the page says when it went and to
    whom, and the real state of that email, before the explicit "Resend to the TAM" (audited
    as a resend; a repeated submission of this form sends nothing more)."""
    signing_request = access.signing_request_for(request, pk, Action.REQUEST)
    if signing_request.status != SigningRequest.Status.SENT:
        messages.error(
            request,
            cancelled_message(signing_request)
            if signing_request.status == SigningRequest.Status.CANCELLED
            else f'Request #{signing_request.pk} was never sent to the TAM: use "Send to the TAM".',
        )
        return redirect(signing_request.get_absolute_url())
    message_form = TamMessageForm(access.post_data(request))
    message_ok = request.method == "POST" and message_form.is_valid()
    if request.method == "POST" and "preview" not in request.POST:
        token = parse_submission_token(request.POST.get("token"))
        if token is None:
            messages.error(request, STALE_FORM)
        elif not message_ok:
            messages.error(request, "Nothing was sent: correct the message to your TAM first.")
        else:
            try:
                email = services.tam_resend(
                    actor=Actor.from_request(request),
                    signing_request=signing_request,
                    submission_token=token,
                    message=message_form.cleaned_data["message"],
                )
            except ServiceError as error:
                _show_message_refusal(request, error, message_form)
            else:
                queued_message(request, email, "Sent again.")
                return redirect(signing_request.get_absolute_url())
    environment = signing_request.environment
    return render(
        request,
        "certificates/request_resend.html",
        {
            "signing_request": signing_request,
            "environment": environment,
            "tam_email": latest_tam_emails([signing_request]).get(signing_request.pk),
            "email_states": emails_about(signing_request),
            "preview": tam_email_compose(
                environment=environment,
                signing_requests=[signing_request],
                sender=_person(request),
                message=message_form.cleaned_data["message"] if message_ok else "",
            )
            if environment.tam_emails
            else None,
            "message_form": message_form,
            "token": uuid.uuid4(),
        },
    )


@require_GET
def csr_archive(request: HttpRequest, slug: str) -> HttpResponse:
    """One zip of the environment's CSRs, once every one it needs is ready: never a key."""
    environment = access.environment_for(request, slug)
    bundle = selectors.csr_bundle(environment)
    if not bundle:
        messages.error(
            request,
            f"{environment.name} does not have all its CSRs yet; make the missing ones first.",
        )
        return redirect("dashboard")
    filename, content = crypto.csr_archive(
        company_name(), environment.slug, ((r.purpose, r.csr_pem) for r in bundle)
    )
    return attachment(content, filename, "application/zip")
