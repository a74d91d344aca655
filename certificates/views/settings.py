"""Administrators' settings pages: company profile, environments, members and people.

Superusers only (``superuser_required``: 403 for everyone else; the login middleware sends
anonymous visitors to the login page first). Each page is a server-rendered form that works
without JavaScript; a successful POST says so with a message and redirects (post/redirect/get).

Routed in ``certificates/urls.py``, under ``/settings/``.
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from certificates import crypto, lockout, services
from certificates.forms.settings import (
    ROLE_EXPLANATIONS,
    CompanyProfileForm,
    EnvironmentForm,
    InviteForm,
    MemberAddForm,
    MemberRoleForm,
    prepare_renewals_choice,
)
from certificates.models import CompanyProfile, Environment, Membership, Role
from certificates.selectors.company import company_profile
from certificates.selectors.environments import stored_ca_bundle
from certificates.selectors.notices import reminding_nobody
from certificates.selectors.people import people_rows
from certificates.services.audit import Actor
from certificates.services.company import SUBJECT_FIELDS
from certificates.services.errors import ServiceError
from certificates.services.invitations import expiry_text
from certificates.services.lockout import login_lock_reset
from certificates.views import access, sudo
from certificates.views.access import superuser_required


def _example_filename(profile: CompanyProfile) -> str:
    return crypto.treezor_filename(profile.company_name, "csr", "mtls")


# --- Pages -----------------------------------------------------------------------------------


@superuser_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The settings overview: the company, each environment at a glance, and what to add."""
    # Members counted in the one query, not one more per environment. In the order they were
    # created, as people expect (Sandbox, then Production): a GROUP BY query ignores the
    # model's default ordering, so it is explicit.
    counted = Environment.objects.annotate(member_count=Count("memberships"))
    environments = [
        {
            "environment": environment,
            "bundle": stored_ca_bundle(environment),
            "member_count": environment.member_count,
        }
        for environment in counted.order_by("created_at", "pk")
    ]
    profile = company_profile()
    return render(
        request,
        "certificates/settings/home.html",
        {
            "profile": profile,
            "example_filename": _example_filename(profile),
            "rows": environments,
            # Issue 16: the ids of the environments whose reminders would reach nobody.
            "reminding_nobody": reminding_nobody(Environment.objects.all()),
        },
    )


@superuser_required
def company(request: HttpRequest) -> HttpResponse:
    """The company name of Treezor's file names and the default subject of new requests."""
    profile = company_profile()
    initial = {field: getattr(profile, field) for field in ("company_name", *SUBJECT_FIELDS)}
    form = CompanyProfileForm(access.post_data(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            profile = services.company_profile_update(
                actor=Actor.from_request(request),
                company_name=form.cleaned_data["company_name"],
                country=form.cleaned_data["country"],
                state=form.cleaned_data["state"],
                locality=form.cleaned_data["locality"],
                organization=form.cleaned_data["organization"],
                organizational_unit=form.cleaned_data["organizational_unit"],
                common_name=form.cleaned_data["common_name"],
                email=form.cleaned_data["email"],
            )
        except ServiceError as error:
            access.show_refusal(request, error, form)
        else:
            messages.success(
                request,
                "Company profile saved. CSR files are now named like "
                f"{_example_filename(profile)}.",
            )
            return redirect("settings_company")
    return render(
        request,
        "certificates/settings/company.html",
        {"form": form, "profile": profile, "example_filename": _example_filename(profile)},
    )


@sensitive_post_parameters("ca_bundle_text")
@superuser_required
def environment_add(request: HttpRequest) -> HttpResponse:
    """A new Treezor environment, with its TAM and (optionally) its CA bundle."""
    form = EnvironmentForm(access.post_data(request), access.post_files(request))
    if request.method == "POST" and form.is_valid():
        try:
            environment = services.environment_create(
                actor=Actor.from_request(request),
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"],
                tam_emails=form.cleaned_data["tam_emails"].splitlines(),
                team_emails=form.cleaned_data["team_emails"].splitlines(),
                api_host=form.cleaned_data["api_host"],
                signature_required=form.cleaned_data["signature_required"],
                prepare_renewals=form.cleaned_data["prepare_renewals"],
                copy_team_on_tam_emails=form.cleaned_data["copy_team_on_tam_emails"],
                ca_bundle=form.ca_bundle or b"",
            )
        except ServiceError as error:
            access.show_refusal(request, error, form)
        else:
            messages.success(request, f"Environment {environment.name} added.")
            return redirect("settings_environment_edit", slug=environment.slug)
    return render(
        request,
        "certificates/settings/environment_form.html",
        {"form": form, "environment": None, "bundle": None},
    )


@sensitive_post_parameters("ca_bundle_text")
@superuser_required
def environment_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Change an environment's name, addresses, API host, signature set and CA bundle."""
    environment = get_object_or_404(Environment, slug=slug)
    initial = {
        "name": environment.name,
        "tam_emails": "\n".join(environment.tam_emails),
        "team_emails": "\n".join(environment.team_emails),
        "api_host": environment.api_host,
        "signature_required": environment.signature_required,
        "prepare_renewals": prepare_renewals_choice(environment.prepare_renewals),
        "copy_team_on_tam_emails": environment.copy_team_on_tam_emails,
    }
    form = EnvironmentForm(
        access.post_data(request),
        access.post_files(request),
        initial=initial,
        environment=environment,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.environment_update(
                actor=Actor.from_request(request),
                environment=environment,
                name=form.cleaned_data["name"],
                tam_emails=form.cleaned_data["tam_emails"].splitlines(),
                team_emails=form.cleaned_data["team_emails"].splitlines(),
                api_host=form.cleaned_data["api_host"],
                signature_required=form.cleaned_data["signature_required"],
                prepare_renewals=form.cleaned_data["prepare_renewals"],
                copy_team_on_tam_emails=form.cleaned_data["copy_team_on_tam_emails"],
                ca_bundle=form.ca_bundle,
            )
        except ServiceError as error:
            access.show_refusal(request, error, form)
        else:
            messages.success(request, f"Environment {environment.name} saved.")
            return redirect("settings_environment_edit", slug=environment.slug)
    # The saved state, not the typed one: the warning and the bundle are what is stored.
    environment.refresh_from_db()
    return render(
        request,
        "certificates/settings/environment_form.html",
        {
            "form": form,
            "environment": environment,
            "bundle": stored_ca_bundle(environment),
            "reminding_nobody": reminding_nobody([environment]),
        },
    )


@superuser_required
def members(request: HttpRequest, slug: str) -> HttpResponse:
    """Who holds which role in an environment; add a person, change a role."""
    environment = get_object_or_404(Environment, slug=slug)
    memberships = list(environment.memberships.select_related("user").order_by("user__username"))
    add_form = MemberAddForm(prefix="add")
    role_forms = {
        membership.pk: MemberRoleForm(prefix=f"m{membership.pk}", initial={"role": membership.role})
        for membership in memberships
    }
    if request.method == "POST":
        detour = sudo.gate(
            request,
            back_to=reverse("settings_members", args=[environment.slug]),
            what="change who holds a role",
        )
        if detour is not None:
            return detour
        actor = Actor.from_request(request)
        if "membership" in request.POST:
            pk = request.POST.get("membership", "")
            membership = get_object_or_404(
                Membership, pk=int(pk) if pk.isdecimal() else 0, environment=environment
            )
            role_form = MemberRoleForm(request.POST, prefix=f"m{membership.pk}")
            role_forms[membership.pk] = role_form
            if role_form.is_valid():
                try:
                    services.membership_set(
                        actor=actor,
                        environment=environment,
                        user=membership.user,
                        role=role_form.cleaned_data["role"],
                    )
                except ServiceError as error:
                    access.show_refusal(request, error, role_form, on="role")
                else:
                    messages.success(
                        request,
                        f"{membership.user.get_username()} is now "
                        f"{Role(role_form.cleaned_data['role']).label.lower()} "
                        f"in {environment.name}.",
                    )
                    return redirect("settings_members", slug=environment.slug)
        else:
            add_form = MemberAddForm(request.POST, prefix="add")
            if add_form.is_valid():
                user: User = add_form.cleaned_data["user"]
                role = add_form.cleaned_data["role"]
                try:
                    services.membership_set(
                        actor=actor, environment=environment, user=user, role=role
                    )
                except ServiceError as error:
                    access.show_refusal(request, error, add_form)
                else:
                    messages.success(
                        request,
                        f"{user.get_username()} is now {Role(role).label.lower()} "
                        f"in {environment.name}.",
                    )
                    return redirect("settings_members", slug=environment.slug)
    member_ids = {membership.user_id for membership in memberships}
    administrators = [
        user
        for user in get_user_model().objects.filter(is_superuser=True).order_by("username")
        if user.pk not in member_ids
    ]
    rows = [
        {"membership": membership, "form": role_forms[membership.pk]} for membership in memberships
    ]
    return render(
        request,
        "certificates/settings/members.html",
        {
            "environment": environment,
            "rows": rows,
            "administrators": administrators,
            "add_form": add_form,
            "roles": [(Role(role).label, text) for role, text in ROLE_EXPLANATIONS.items()],
            "reminding_nobody": reminding_nobody([environment]),
        },
    )


@superuser_required
@require_POST
def member_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Remove a member: the first POST asks for confirmation, the confirmed one removes."""
    environment = get_object_or_404(Environment, slug=slug)
    membership = get_object_or_404(
        Membership.objects.select_related("user"), pk=pk, environment=environment
    )
    if request.POST.get("confirm") != "yes":
        return render(
            request,
            "certificates/settings/member_remove.html",
            {"environment": environment, "membership": membership},
        )
    detour = sudo.gate(
        request,
        back_to=reverse("settings_members", args=[environment.slug]),
        what="change who holds a role",
    )
    if detour is not None:
        return detour
    username = membership.user.get_username()
    services.membership_remove(actor=Actor.from_request(request), membership=membership)
    messages.success(request, f"{username} no longer has a role in {environment.name}.")
    return redirect("settings_members", slug=environment.slug)


@superuser_required
def invite(request: HttpRequest) -> HttpResponse:
    """Invite someone: their address, optionally their name, and a role per environment. They
    get a one-time link to choose their own password."""
    environments = list(Environment.objects.order_by("created_at", "pk"))
    form = InviteForm(access.post_data(request), environments=environments)
    if request.method == "POST":
        # Inviting gives roles: the same password check as any other role change.
        detour = sudo.gate(request, back_to=reverse("settings_invite"), what="give roles")
        if detour is not None:
            return detour
        if form.is_valid():
            try:
                invitation, _link = services.invitation_create(
                    actor=Actor.from_request(request),
                    email=form.cleaned_data["email"],
                    roles=form.roles(),
                    first_name=form.cleaned_data["first_name"],
                    last_name=form.cleaned_data["last_name"],
                )
            except ServiceError as error:
                access.show_refusal(request, error, form)
            else:
                messages.success(
                    request,
                    f"Invitation sent to {invitation.email}; the link works once, until "
                    f"{expiry_text(invitation.expires_at)}.",
                )
                return redirect("settings_people")
    return render(
        request,
        "certificates/settings/invite.html",
        {
            "form": form,
            "hours": django_settings.CERTDESK_INVITATION_HOURS,
            "roles": [(Role(role).label, text) for role, text in ROLE_EXPLANATIONS.items()],
        },
    )


@superuser_required
@require_GET
def people(request: HttpRequest) -> HttpResponse:
    """Everyone who has an account: active or not, administrator or not, and their roles.

    Accounts are deactivated here, never deleted (their audit events keep who acted); people
    still invited get a fresh link; a lost second factor is reset.
    """
    return render(request, "certificates/settings/people.html", {"rows": people_rows()})


def _person(pk: int) -> User:
    user: User = get_object_or_404(get_user_model(), pk=pk)
    return user


@superuser_required
@require_POST
def user_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate an account: the first POST asks for confirmation, the confirmed one acts."""
    person = _person(pk)
    if request.POST.get("confirm") != "yes":
        return render(request, "certificates/settings/user_deactivate.html", {"person": person})
    try:
        services.user_deactivate(actor=Actor.from_request(request), user=person)
    except ServiceError as error:
        access.show_refusal(request, error)
    else:
        messages.success(
            request,
            f"{person.get_username()} is deactivated: they can no longer log in, and their "
            "sessions and calendar feed stop working. Their roles are kept for a reactivation.",
        )
    return redirect("settings_people")


@superuser_required
@require_POST
def user_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a deactivated account again, with the roles it had."""
    person = _person(pk)
    try:
        services.user_reactivate(actor=Actor.from_request(request), user=person)
    except ServiceError as error:
        access.show_refusal(request, error)
    else:
        messages.success(request, f"{person.get_username()} is active again, with their roles.")
    return redirect("settings_people")


@superuser_required
@require_POST
def second_factor_reset(request: HttpRequest, pk: int) -> HttpResponse:
    """Reset someone's second factor (a lost phone or key): the first POST asks for
    confirmation, the confirmed one removes their app, passkeys and recovery codes."""
    person = _person(pk)
    if request.POST.get("confirm") != "yes":
        return render(request, "certificates/settings/second_factor_reset.html", {"person": person})
    detour = sudo.gate(
        request, back_to=reverse("settings_people"), what="reset someone's second factor"
    )
    if detour is not None:
        return detour
    try:
        services.second_factor_reset(actor=Actor.from_request(request), user=person)
    except ServiceError as error:
        access.show_refusal(request, error)
    else:
        messages.success(
            request,
            f"{person.get_username()}'s second factor is reset. If their role needs one, they "
            "are asked to set up a new one at their next login.",
        )
    return redirect("settings_people")


@superuser_required
@require_POST
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    """A fresh invitation link for someone who has not accepted yet; the old link dies."""
    person = _person(pk)
    try:
        invitation, _link = services.invitation_resend(
            actor=Actor.from_request(request), user=person
        )
    except ServiceError as error:
        access.show_refusal(request, error)
    else:
        messages.success(
            request,
            f"A new invitation was sent to {invitation.email}; it works once, until "
            f"{expiry_text(invitation.expires_at)}. The previous link no longer works.",
        )
    return redirect("settings_people")


@superuser_required
def login_locks(request: HttpRequest) -> HttpResponse:
    """Accounts and addresses locked out by failed logins, each with an Unlock button (a POST of
    ``username`` or ``ip``: audited, then back here)."""
    if request.method == "POST":
        what = request.POST.get("username", "") or request.POST.get("ip", "")
        try:
            cleared = login_lock_reset(
                actor=Actor.from_request(request),
                username=request.POST.get("username", ""),
                ip=request.POST.get("ip", ""),
            )
        except ServiceError as error:
            access.show_refusal(request, error)
        else:
            messages.success(
                request,
                f"{what} unlocked: {cleared} failed-login record{'s' if cleared != 1 else ''} "
                "forgotten.",
            )
        return redirect("settings_login_locks")
    return render(
        request,
        "certificates/settings/login_locks.html",
        {
            "accounts": lockout.locked_accounts(),
            "addresses": lockout.locked_addresses(),
            "account_limit": django_settings.AXES_FAILURE_LIMIT,
            "address_limit": django_settings.CERTDESK_LOGIN_ADDRESS_FAILURE_LIMIT,
            "cooloff_minutes": django_settings.CERTDESK_LOGIN_COOLOFF_MINUTES,
        },
    )
