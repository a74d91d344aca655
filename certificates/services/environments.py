"""Treezor environments (their TAM addresses, API host, trusted CA bundle) and who is a member
of each, with which role. Each change is audited in the same transaction; audit details hold
names, addresses, roles and certificate fingerprints, never the text of a CA bundle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography import x509
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from certificates import crypto
from certificates.models import Environment, Membership, Role
from certificates.services.admin_checks import (
    control_character_problem,
    parse_email_list,
    require_administrator,
)
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError


def api_host_problem(value: str) -> str | None:
    """None when ``value`` is blank or a host name; otherwise what to type instead."""
    if not value or crypto.is_host_name(value):
        return None
    suggestion = crypto.suggest_common_name(value)
    if suggestion is not None:
        return (
            "API host must be a host name only, without a scheme such as https://, a port or a "
            f"path: use '{suggestion}' instead of '{value}'."
        )
    return (
        "API host must be a host name such as api.treezor.com: dot-separated labels of letters, "
        "digits and hyphens."
    )


def parse_ca_bundle(pem: bytes) -> list[x509.Certificate]:
    """The bundle's CA certificates, or ServiceError with crypto's explanation.

    The explanation never quotes the input: a bundle with a private key in it is refused by
    ``crypto.parse_ca_bundle`` with a message about the key, not the key itself.
    """
    try:
        return crypto.parse_ca_bundle(pem)
    except crypto.CryptoError as error:
        raise ServiceError(error.message, field="ca_bundle") from None


def ca_bundle_summary(certificates: list[x509.Certificate]) -> list[dict[str, str]]:
    """What the audit records of a bundle: subjects, expiry dates and fingerprints only."""
    return [
        {
            "subject": crypto.describe_name(certificate.subject),
            "not_after": crypto.openssl_date(certificate.not_valid_after_utc),
            "fingerprint": crypto.certificate_fingerprint(certificate),
        }
        for certificate in certificates
    ]


def slug_for(name: str, slug: str = "") -> str:
    return slugify(slug.strip() or name.strip())[:64]


# --- Environments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _CheckedEnvironment:
    slug: str
    tam: list[str]
    team: list[str]
    bundle: list[x509.Certificate] | None


def _check_environment(
    *,
    name: str,
    api_host: str,
    tam_emails: list[str],
    team_emails: list[str],
    ca_bundle: bytes | None,
    slug: str | None = None,
    exclude: Environment | None = None,
) -> _CheckedEnvironment:
    """Every problem of an environment's values at once (ServiceError with one per field).

    ``slug``: the typed slug of a new environment (None when editing: it never changes).
    """
    problems: dict[str, str] = {}
    clash = Environment.objects.filter(name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if not name:
        problems["name"] = "Name is required, such as Sandbox or Production."
    elif problem := control_character_problem(name, label="Environment name"):
        problems["name"] = problem
    elif len(name) > 64:
        problems["name"] = f"Name is {len(name)} characters long; the limit is 64."
    elif clash.exists():
        problems["name"] = f"An environment is already called '{name}'; choose another name."
    if (problem := api_host_problem(api_host)) is not None:
        problems["api_host"] = problem
    made_slug = ""
    if slug is not None:
        made_slug = slug_for(name, slug)
        if not made_slug and (slug.strip() or "name" not in problems):
            problems["slug"] = "The slug needs letters or digits, such as 'staging'."
        elif made_slug and Environment.objects.filter(slug=made_slug).exists():
            problems["slug"] = (
                f"The slug '{made_slug}' is taken by another environment; choose another."
            )
    addresses: dict[str, list[str]] = {}
    for field, label, typed in (
        ("tam_emails", "TAM addresses", tam_emails),
        ("team_emails", "Team addresses", team_emails),
    ):
        try:
            addresses[field] = parse_email_list("\n".join(typed), label=label)
        except ServiceError as error:
            problems[field] = error.message
    bundle: list[x509.Certificate] | None = None
    if ca_bundle is not None and ca_bundle.strip():
        try:
            bundle = parse_ca_bundle(ca_bundle)
        except ServiceError as error:
            problems["ca_bundle"] = error.message
    if problems:
        raise ServiceError.of(problems)
    return _CheckedEnvironment(
        slug=made_slug, tam=addresses["tam_emails"], team=addresses["team_emails"], bundle=bundle
    )


def environment_create(
    *,
    actor: Actor,
    name: str,
    slug: str = "",
    tam_emails: list[str],
    team_emails: list[str],
    api_host: str = "",
    signature_required: bool = False,
    prepare_renewals: bool | None = None,
    copy_team_on_tam_emails: bool = True,
    ca_bundle: bytes = b"",
) -> Environment:
    """Add a Treezor environment; ``slug`` defaults to the slugified name and is never changed.

    ``prepare_renewals``: None is automatic (on unless the key being renewed was brought by
    the user), True or False the administrator's choice.
    """
    require_administrator(actor)
    name = name.strip()
    api_host = api_host.strip().lower()
    checked = _check_environment(
        name=name,
        api_host=api_host,
        tam_emails=tam_emails,
        team_emails=team_emails,
        ca_bundle=ca_bundle,
        slug=slug,
    )
    slug, tam, team, bundle = checked.slug, checked.tam, checked.team, checked.bundle or []
    try:
        with transaction.atomic():
            environment = Environment.objects.create(
                name=name,
                slug=slug,
                tam_emails=tam,
                team_emails=team,
                api_host=api_host,
                signature_required=signature_required,
                prepare_renewals=prepare_renewals,
                copy_team_on_tam_emails=copy_team_on_tam_emails,
                ca_bundle=crypto.certificates_to_pem(bundle).decode("ascii"),
            )
            audit_record(
                actor=actor,
                action="settings.environment_created",
                target=environment,
                environment=environment,
                details={
                    "name": name,
                    "slug": slug,
                    "tam_emails": tam,
                    "team_emails": team,
                    "api_host": api_host,
                    "signature_required": signature_required,
                    "prepare_renewals": prepare_renewals,
                    "copy_team_on_tam_emails": copy_team_on_tam_emails,
                    "ca_bundle": ca_bundle_summary(bundle),
                },
            )
    except IntegrityError:
        # Two administrators adding the same environment at once: the database decides.
        raise ServiceError(
            f"An environment called '{name}' or with the slug '{slug}' was just added; "
            "choose another.",
            field="slug",
        ) from None
    return environment


def environment_update(
    *,
    actor: Actor,
    environment: Environment,
    name: str,
    tam_emails: list[str],
    team_emails: list[str],
    api_host: str = "",
    signature_required: bool = False,
    prepare_renewals: bool | None = None,
    copy_team_on_tam_emails: bool | None = None,
    ca_bundle: bytes | None = None,
) -> Environment:
    """Change an environment. ``ca_bundle``: None keeps the current one, empty bytes remove it;
    ``copy_team_on_tam_emails`` (Cc the team on every email to the TAM): None keeps it.

    The slug never changes: it is in bookmarks, emails and audit events.
    """
    require_administrator(actor)
    name = name.strip()
    api_host = api_host.strip().lower()
    checked = _check_environment(
        name=name,
        api_host=api_host,
        tam_emails=tam_emails,
        team_emails=team_emails,
        ca_bundle=ca_bundle,
        exclude=environment,
    )
    tam, team, bundle = checked.tam, checked.team, checked.bundle
    try:
        with transaction.atomic():
            current = Environment.objects.select_for_update().get(pk=environment.pk)
            new_values: dict[str, Any] = {
                "name": name,
                "tam_emails": tam,
                "team_emails": team,
                "api_host": api_host,
                "signature_required": signature_required,
                "prepare_renewals": prepare_renewals,
            }
            # None keeps the current choice (callers that do not show the checkbox).
            if copy_team_on_tam_emails is not None:
                new_values["copy_team_on_tam_emails"] = copy_team_on_tam_emails
            changed: dict[str, Any] = {
                field: [getattr(current, field), value]
                for field, value in new_values.items()
                if getattr(current, field) != value
            }
            if ca_bundle is not None:
                new_bundle = crypto.certificates_to_pem(bundle or []).decode("ascii")
                if new_bundle != current.ca_bundle:
                    new_values["ca_bundle"] = new_bundle
                    changed["ca_bundle"] = ca_bundle_summary(bundle) if bundle else "removed"
            for field, value in new_values.items():
                setattr(current, field, value)
            current.save()
            audit_record(
                actor=actor,
                action="settings.environment_updated",
                target=current,
                environment=current,
                details={"changed": changed},
            )
    except IntegrityError:
        raise ServiceError(
            f"An environment called '{name}' was just added; choose another name.", field="name"
        ) from None
    environment.refresh_from_db()
    return current


# --- Memberships ------------------------------------------------------------------------------


def membership_set(*, actor: Actor, environment: Environment, user: User, role: str) -> Membership:
    """Give ``user`` ``role`` in ``environment``: a new membership, or a changed role."""
    require_administrator(actor)
    if role not in Role.values:
        raise ServiceError(f"Role must be one of {', '.join(Role.values)}.", field="role")
    if user.is_superuser:
        raise ServiceError(
            f"{user.get_username()} is an administrator and has every role in every "
            "environment already.",
            field="user",
        )
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .filter(user=user, environment=environment)
            .first()
        )
        previous = membership.role if membership is not None else None
        if membership is None:
            membership = Membership.objects.create(user=user, environment=environment, role=role)
        elif membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
        audit_record(
            actor=actor,
            action="settings.membership_set",
            target=membership,
            environment=environment,
            details={"username": user.get_username(), "role": role, "previous_role": previous},
        )
    return membership


def membership_remove(*, actor: Actor, membership: Membership) -> None:
    """Take ``membership``'s user out of its environment; they keep their other memberships."""
    require_administrator(actor)
    with transaction.atomic():
        environment = membership.environment
        details = {"username": membership.user.get_username(), "role": membership.role}
        audit_record(
            actor=actor,
            action="settings.membership_removed",
            target=membership,
            environment=environment,
            details=details,
        )
        membership.delete()
