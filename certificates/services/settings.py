"""Administrators' settings: the company profile, environments, memberships and people.

Each service takes keyword-only arguments and an ``actor``, checks its input with the same rules
the settings forms show (the small ``*_problem``/``parse_*`` helpers below, shared with
``forms_settings``), writes, and records an audit event in the same transaction. Audit details
hold names, addresses, roles and certificate fingerprints only: never a password, never the text
of a CA bundle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.views.decorators.debug import sensitive_variables

from certificates import crypto
from certificates.models import CompanyProfile, Environment, Membership, Role
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError

# The default subject of the company profile, in Treezor's table order.
SUBJECT_FIELDS: tuple[str, ...] = (
    "country",
    "state",
    "locality",
    "organization",
    "organizational_unit",
    "common_name",
    "email",
)

# Valid stand-ins for the fields left blank, so that ``crypto.validate_subject`` (which wants a
# complete CSR subject) judges only what the administrator typed, with its own messages.
_SUBJECT_STAND_INS: Mapping[str, str] = {
    "country": "FR",
    "state": "State",
    "locality": "Locality",
    "organization": "Organization",
    "organizational_unit": "",
    "common_name": "example.com",
    "email": "it@example.com",
}

_ADDRESS_SEPARATORS = re.compile(r"[\s,;]+")
_email_validator = EmailValidator()
# Refused in every value that reaches an email header or a file name (company name, environment
# name, addresses): C0 controls (tab, CR and LF among them), DEL, C1 controls and the Unicode line
# and paragraph separators. A line break in a header splits it: a company name with a newline made
# every email fail in the worker; in a file name, it breaks the downloads and the shell commands
# that handle them.
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_CHARACTER_NAMES: Mapping[str, str] = {
    "\n": "a line break",
    "\r": "a line break",
    "\t": "a tab",
    "\u2028": "a line break",
    "\u2029": "a line break",
}


def control_character_problem(value: str, *, label: str) -> str | None:
    """None when ``value`` holds no control character; otherwise which one and what to do."""
    match = _CONTROL_CHARACTERS.search(value)
    if match is None:
        return None
    character = match.group()
    name = _CONTROL_CHARACTER_NAMES.get(character, f"the control character U+{ord(character):04X}")
    return (
        f"{label} contains {name}; it goes into email headers and file names, where only "
        "printable characters on one line are allowed. Type it again on one line."
    )


# --- Checks shared with the forms -------------------------------------------------------------


def _require_administrator(actor: Actor) -> None:
    """Settings are for superusers; the command line (an actor without a user) may too."""
    if actor.user is not None and not (actor.user.is_active and actor.user.is_superuser):
        raise PermissionDenied("Only certdesk administrators may change settings.")


def subject_defaults_problems(values: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(normalised values, {field: message}) for the profile's default subject.

    Blank fields are allowed (defaults are optional); every other value passes the rules of a
    CSR subject (DESIGN.md rule 4: the real ISO 3166-1 list, a host-name Common Name with a
    suggestion when a URL was typed, the RFC 5280 upper bounds), with the CSR form's messages.
    """
    typed = {field: (values.get(field) or "").strip() for field in SUBJECT_FIELDS}
    candidate = {field: typed[field] or _SUBJECT_STAND_INS[field] for field in SUBJECT_FIELDS}
    try:
        subject = crypto.validate_subject(**candidate)
    except crypto.SubjectError as error:
        problems = {field: message for field, message in error.errors.items() if typed[field]}
        return typed, problems
    normalised = subject.as_dict()
    return {field: normalised[field] if typed[field] else "" for field in SUBJECT_FIELDS}, {}


def company_name_problem(name: str) -> str | None:
    if not name.strip():
        return "Company name is required: Treezor's file names start with it."
    if problem := control_character_problem(name.strip(), label="Company name"):
        return problem
    if len(name.strip()) > 64:
        return f"Company name is {len(name.strip())} characters long; the limit is 64."
    if crypto.treezor_filename(name, "csr", "mtls").startswith("company_") and not (
        name.strip().lower().startswith("company")
    ):
        return (
            f"'{name.strip()}' leaves nothing usable in a file name; use letters or digits "
            "(accents are dropped, spaces become dots)."
        )
    return None


def parse_email_list(text: str, *, label: str) -> list[str]:
    """Addresses from a textarea: one a line or separated by commas; duplicates dropped.

    Raise ServiceError naming the first address that is not one.
    """
    addresses: list[str] = []
    for item in _ADDRESS_SEPARATORS.split(text or ""):
        if not item:
            continue
        if _CONTROL_CHARACTERS.search(item):
            # EmailValidator lets a quoted local part carry most control characters.
            raise ServiceError(
                f"{item!r} is not an email address: it contains a control character. {label}: "
                "one address a line, or separated by commas.",
            )
        try:
            _email_validator(item)
        except ValidationError:
            raise ServiceError(
                f"'{item}' is not an email address. {label}: one address a line, or separated "
                "by commas.",
            ) from None
        if item.lower() not in (known.lower() for known in addresses):
            addresses.append(item)
    return addresses


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


# --- Company profile --------------------------------------------------------------------------


def company_profile_update(
    *,
    actor: Actor,
    company_name: str,
    country: str = "",
    state: str = "",
    locality: str = "",
    organization: str = "",
    organizational_unit: str = "",
    common_name: str = "",
    email: str = "",
) -> CompanyProfile:
    """Save the company name (Treezor's file names) and the default subject of new requests."""
    _require_administrator(actor)
    problem = company_name_problem(company_name)
    if problem is not None:
        raise ServiceError(problem, field="company_name")
    subject, problems = subject_defaults_problems(
        {
            "country": country,
            "state": state,
            "locality": locality,
            "organization": organization,
            "organizational_unit": organizational_unit,
            "common_name": common_name,
            "email": email,
        }
    )
    if problems:
        field, message = next(iter(problems.items()))
        raise ServiceError(message, field=field)
    new_values = {"company_name": company_name.strip(), **subject}
    with transaction.atomic():
        profile, _ = CompanyProfile.objects.select_for_update().get_or_create(pk=1)
        changed = {
            field: [getattr(profile, field), value]
            for field, value in new_values.items()
            if getattr(profile, field) != value
        }
        for field, value in new_values.items():
            setattr(profile, field, value)
        profile.save()
        audit_record(
            actor=actor,
            action="settings.company_updated",
            target=profile,
            details={"changed": changed},
        )
    return profile


# --- Environments -----------------------------------------------------------------------------


def _check_environment_fields(
    *, name: str, api_host: str, exclude: Environment | None = None
) -> None:
    if not name:
        raise ServiceError("Name is required, such as Sandbox or Production.", field="name")
    if problem := control_character_problem(name, label="Environment name"):
        raise ServiceError(problem, field="name")
    if len(name) > 64:
        raise ServiceError(f"Name is {len(name)} characters long; the limit is 64.", field="name")
    clash = Environment.objects.filter(name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise ServiceError(
            f"An environment is already called '{name}'; choose another name.", field="name"
        )
    problem = api_host_problem(api_host)
    if problem is not None:
        raise ServiceError(problem, field="api_host")


def _addresses(addresses: list[str], *, label: str, field: str) -> list[str]:
    try:
        return parse_email_list("\n".join(addresses), label=label)
    except ServiceError as error:
        raise ServiceError(error.message, field=field) from None


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
    ca_bundle: bytes = b"",
) -> Environment:
    """Add a Treezor environment; ``slug`` defaults to the slugified name and is never changed.

    ``prepare_renewals``: None is automatic (on unless the key being renewed was brought by
    the user), True or False the administrator's choice.
    """
    _require_administrator(actor)
    name = name.strip()
    api_host = api_host.strip().lower()
    _check_environment_fields(name=name, api_host=api_host)
    slug = slug_for(name, slug)
    if not slug:
        raise ServiceError(
            "The slug needs letters or digits; type one such as 'staging'.", field="slug"
        )
    if Environment.objects.filter(slug=slug).exists():
        raise ServiceError(
            f"The slug '{slug}' is taken by another environment; choose another.", field="slug"
        )
    tam = _addresses(tam_emails, label="TAM addresses", field="tam_emails")
    team = _addresses(team_emails, label="Team addresses", field="team_emails")
    bundle = parse_ca_bundle(ca_bundle) if ca_bundle.strip() else []
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
    ca_bundle: bytes | None = None,
) -> Environment:
    """Change an environment. ``ca_bundle``: None keeps the current one, empty bytes remove it.

    The slug never changes: it is in bookmarks, emails and audit events.
    """
    _require_administrator(actor)
    name = name.strip()
    api_host = api_host.strip().lower()
    _check_environment_fields(name=name, api_host=api_host, exclude=environment)
    tam = _addresses(tam_emails, label="TAM addresses", field="tam_emails")
    team = _addresses(team_emails, label="Team addresses", field="team_emails")
    bundle: list[x509.Certificate] | None = None
    if ca_bundle is not None and ca_bundle.strip():
        bundle = parse_ca_bundle(ca_bundle)
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
    _require_administrator(actor)
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
    _require_administrator(actor)
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


# --- People -----------------------------------------------------------------------------------


@sensitive_variables("password")
def user_create(
    *,
    actor: Actor,
    username: str,
    email: str,
    password: str,
    environment: Environment | None = None,
    role: str = "",
) -> User:
    """Add a person who can log in, optionally with a role in one environment.

    The password is checked by Django's validators and stored hashed; it is never in the
    audit event, a message or a log line. Addresses are unique, so that adding a member by
    address finds one person.
    """
    _require_administrator(actor)
    user_model = get_user_model()
    username = username.strip()
    email = email.strip()
    if not username:
        raise ServiceError("Username is required.", field="username")
    if user_model.objects.filter(username__iexact=username).exists():
        raise ServiceError(f"The username '{username}' is taken; choose another.", field="username")
    if _CONTROL_CHARACTERS.search(email):
        raise ServiceError(
            f"{email!r} is not an email address: it contains a control character.", field="email"
        )
    try:
        _email_validator(email)
    except ValidationError:
        raise ServiceError(f"'{email}' is not an email address.", field="email") from None
    existing = user_model.objects.filter(email__iexact=email).first()
    if existing is not None:
        raise ServiceError(
            f"{existing.get_username()} already uses {email}; each person needs their own address.",
            field="email",
        )
    if (environment is None) != (not role):
        raise ServiceError(
            "Choose both an environment and a role, or neither.",
            field="role" if environment is not None else "environment",
        )
    try:
        password_validation.validate_password(password, user_model(username=username, email=email))
    except ValidationError as error:
        raise ServiceError(" ".join(error.messages), field="password1") from None
    try:
        with transaction.atomic():
            user: User = user_model.objects.create_user(
                username=username, email=email, password=password
            )
            audit_record(
                actor=actor,
                action="settings.user_created",
                target=user,
                environment=environment,
                details={
                    "username": username,
                    "email": email,
                    "environment": environment.slug if environment is not None else None,
                    "role": role or None,
                },
            )
            if environment is not None:
                membership_set(actor=actor, environment=environment, user=user, role=role)
    except IntegrityError:
        raise ServiceError(
            f"The username '{username}' was just taken; choose another.", field="username"
        ) from None
    return user


def _user_roles(user: User) -> dict[str, str]:
    """{environment slug: role} of ``user``: what the audit event of a (re)activation shows."""
    return {
        membership.environment.slug: membership.role
        for membership in Membership.objects.filter(user=user).select_related("environment")
    }


def user_deactivate(*, actor: Actor, user: User) -> User:
    """Close ``user``'s account: no login, no session, no role, no calendar feed, no reminder.

    Users are never deleted (their audit events name them, and a deletion would rewrite those
    events' actor): deactivation is the way out, and ``user_reactivate`` the way back. Their
    memberships stay, inert while the account is inactive, so reactivation restores them.
    An administrator cannot deactivate themselves, and the last active administrator stays.
    """
    _require_administrator(actor)
    with transaction.atomic():
        # The active administrators' rows are locked first, in one order, so that two
        # administrators deactivating each other at once cannot both succeed and leave nobody.
        administrators = list(
            get_user_model()
            .objects.select_for_update()
            .filter(is_superuser=True, is_active=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        current = get_user_model().objects.select_for_update().get(pk=user.pk)
        username = current.get_username()
        if not current.is_active:
            raise ServiceError(f"{username} is deactivated already.", field="user")
        if actor.user is not None and actor.user.pk == current.pk:
            raise ServiceError(
                "You cannot deactivate your own account; ask another administrator.",
                field="user",
            )
        if current.is_superuser and not set(administrators) - {current.pk}:
            raise ServiceError(
                f"{username} is the last active administrator; make someone else an "
                "administrator first, or nobody could open Settings.",
                field="user",
            )
        current.is_active = False
        current.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="settings.user_deactivated",
            target=current,
            details={
                "username": username,
                "email": current.email,
                "administrator": current.is_superuser,
                "roles": _user_roles(current),
            },
        )
    user.is_active = False
    return current


def user_reactivate(*, actor: Actor, user: User) -> User:
    """Open a deactivated account again, with the memberships it kept."""
    _require_administrator(actor)
    with transaction.atomic():
        current = get_user_model().objects.select_for_update().get(pk=user.pk)
        username = current.get_username()
        if current.is_active:
            raise ServiceError(f"{username} is active already.", field="user")
        current.is_active = True
        current.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="settings.user_reactivated",
            target=current,
            details={
                "username": username,
                "email": current.email,
                "administrator": current.is_superuser,
                "roles": _user_roles(current),
            },
        )
    user.is_active = True
    return current
