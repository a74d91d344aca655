"""The company profile: its name (which starts every file name) and the default CSR subject.

Audited in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from certificates import crypto
from certificates.models import CompanyProfile
from certificates.services.admin_checks import control_character_problem, require_administrator
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError

# The default subject of the company profile, in Treezor's table order.
SUBJECT_FIELDS = crypto.SUBJECT_FIELDS

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
    require_administrator(actor)
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
    if (problem := company_name_problem(company_name)) is not None:
        problems = {"company_name": problem, **problems}
    if problems:
        raise ServiceError.of(problems)
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
